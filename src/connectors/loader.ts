import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { LineCounter, parseDocument } from 'yaml';
import type { LoadedConnector } from './compiled-connector';
import { Compiler } from './compiler';
import type { ConnectorManifest } from './manifest';
import { dedupe, placeProblem, schemaProblems } from './manifest-problems';
import type { ManifestProblem } from './manifest-problems';
import { manifestValidator } from './schema';

export type { CompiledAction, CompiledErrorRule, CompiledTrigger, LoadedConnector } from './compiled-connector';
export type { ManifestProblem } from './manifest-problems';
export { formatProblem } from './manifest-problems';

export type LoadResult = { ok: true; connector: LoadedConnector } | { ok: false; problems: ManifestProblem[] };

export const MANIFEST_FILE = 'connector.yaml';

/** Every manifest under `root`: connectors/<name>/connector.yaml and older majors in connectors/<name>/versions/<v>/. */
export function findManifests(root: string): string[] {
  if (!existsSync(root)) return [];
  const files: string[] = [];
  for (const name of readdirSync(root).sort()) {
    const dir = path.join(root, name);
    if (!statSync(dir).isDirectory()) continue;
    if (existsSync(path.join(dir, MANIFEST_FILE))) files.push(path.join(dir, MANIFEST_FILE));
    const versions = path.join(dir, 'versions');
    if (existsSync(versions) && statSync(versions).isDirectory()) {
      for (const v of readdirSync(versions).sort()) {
        const file = path.join(versions, v, MANIFEST_FILE);
        if (existsSync(file)) files.push(file);
      }
    }
  }
  return files;
}

/** Reads, validates and compiles one manifest. Never throws for a bad manifest: it reports. */
export function loadManifest(file: string, connectorsRoot?: string): LoadResult {
  const source = readFileSync(file, 'utf8');
  const lineCounter = new LineCounter();
  const doc = parseDocument(source, { lineCounter, uniqueKeys: true, prettyErrors: true });
  const at = (pointer: string, message: string): ManifestProblem => placeProblem(file, doc, lineCounter, pointer, message);
  if (doc.errors.length > 0) {
    return {
      ok: false,
      problems: doc.errors.map((e) => {
        const pos = e.linePos?.[0];
        return { file, line: pos?.line ?? null, column: pos?.col ?? null, path: '/', message: `YAML: ${e.message.split('\n')[0] ?? e.message}` };
      }),
    };
  }
  const raw: unknown = doc.toJS();
  const validate = manifestValidator();
  const problems: ManifestProblem[] = [];
  const shapeOk = validate(raw);
  if (!shapeOk) problems.push(...schemaProblems(validate.errors).map(({ path: p, message }) => at(p, message)));
  const compiler = new Compiler(file, at, problems);
  let connector: LoadedConnector | null = null;
  try {
    connector = compiler.compile(raw as ConnectorManifest, connectorsRoot);
  } catch (err) {
    // Only a manifest of the wrong shape gets here, and its schema problems say why.
    if (shapeOk) throw err;
  }
  return problems.length > 0 || !connector ? { ok: false, problems: dedupe(problems) } : { ok: true, connector };
}
