import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { CliError, EXIT } from './client';

/** A JSON (or YAML) document from a file, or from stdin for "-"; a usage error saying which file and why otherwise. */
export function readDocument(file: string): unknown {
  const name = file === '-' ? 'stdin' : file;
  let text: string;
  try {
    text = readFileSync(file === '-' ? 0 : file, 'utf8');
  } catch (err) {
    throw new CliError(`cannot read ${name}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}.`, EXIT.usage, 'Give the path of a JSON file, or - to read standard input.');
  }
  try {
    return parse(text) as unknown;
  } catch (err) {
    throw new CliError(`${name} is not JSON: ${(err as Error).message.split('\n')[0] ?? ''}`, EXIT.usage);
  }
}
