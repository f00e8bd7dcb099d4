import { readFileSync } from 'node:fs';
import path from 'node:path';
import Ajv from 'ajv';
import type { ErrorObject, ValidateFunction } from 'ajv';
import Ajv2020 from 'ajv/dist/2020';
import draft06 from 'ajv/dist/refs/json-schema-draft-06.json';
import addFormats from 'ajv-formats';
import { errorMessage } from '../core/errors';
import { compileJsonata } from '../core/jsonata';

/**
 * A fixture's `body_schema` on an expected request: the body the connector sent (or the parts of it
 * that `at` selects) must be valid against a JSON Schema file, e.g. a provider's published schema of
 * what it accepts (the Adaptive Card schema for a Teams card). Independent of `body`, which pins the
 * exact value: the schema says the provider would take it.
 */
export interface BodySchemaExpectation {
  /** Path of the schema file, relative to the fixture file. */
  file: string;
  /** JSONata over the body selecting what to validate; each item of an array result is validated. Default: the whole body. */
  at?: string;
}

/** A body_schema that cannot be applied: its file does not read or compile, or `at` does not compile. */
export class BodySchemaError extends Error {}

/** At most this many schema errors are listed for one value; the rest are counted. */
const MAX_LISTED = 8;

/**
 * What is wrong with the request body against the expectation's schema: [] when every selected
 * value is valid. Each problem names the value (`at` and its index) and the place in it.
 */
export async function bodySchemaProblems(fixtureFile: string, expectation: BodySchemaExpectation, body: unknown): Promise<string[]> {
  const validate = schemaValidator(path.resolve(path.dirname(fixtureFile), expectation.file));
  const where = expectation.at ?? '$';
  let selected: unknown;
  if (expectation.at === undefined) selected = body;
  else {
    try {
      selected = await compileJsonata(expectation.at).evaluate(body);
    } catch (err) {
      throw new BodySchemaError(`body_schema.at (${expectation.at}) fails: ${errorMessage(err)}`);
    }
  }
  if (selected === undefined) return [`body_schema: ${where} selects nothing in the body`];
  const values = expectation.at !== undefined && Array.isArray(selected) ? selected : [selected];
  const problems: string[] = [];
  values.forEach((value, i) => {
    if (validate(value)) return;
    const label = values === selected ? `${where}[${i}]` : where;
    problems.push(...describe(label, validate.errors ?? []));
  });
  return problems;
}

function describe(label: string, errors: ErrorObject[]): string[] {
  // anyOf branches each add their own error (one enum value each, for a `type` no branch knows): enum
  // errors of one place are merged, and the deepest places, which say most, come first.
  const allowed = new Map<string, unknown[]>();
  for (const e of errors) if (e.keyword === 'enum') allowed.set(e.instancePath, [...(allowed.get(e.instancePath) ?? []), ...((e.params as { allowedValues?: unknown[] }).allowedValues ?? [])]);
  const seen = new Set<string>();
  const lines: string[] = [];
  for (const e of [...errors].sort((a, b) => b.instancePath.split('/').length - a.instancePath.split('/').length)) {
    const values = [...new Set((allowed.get(e.instancePath) ?? []).map((v) => JSON.stringify(v)))];
    const extra = e.keyword === 'additionalProperties' ? ` (${String((e.params as { additionalProperty?: string }).additionalProperty)})` : e.keyword === 'enum' ? ` (${values.join(', ')})` : '';
    const line = `${label}${e.instancePath || ''} ${e.message ?? 'is invalid'}${extra}`;
    if (!seen.has(line)) {
      seen.add(line);
      lines.push(line);
    }
  }
  const listed = lines.slice(0, MAX_LISTED);
  if (lines.length > MAX_LISTED) listed.push(`${label}: ${lines.length - MAX_LISTED} more schema error(s)`);
  return listed;
}

const validators = new Map<string, ValidateFunction>();

/**
 * The compiled schema of a file, cached by path. Draft 2020-12 schemas (and those naming no draft)
 * compile as such; draft-07 and draft-06 ones, as providers often publish (the Adaptive Card schema is
 * draft-06), with the draft-07 validator. Not strict: published schemas carry their own annotation
 * keywords (e.g. "version" and "features" in the Adaptive Card schema), which are ignored.
 */
function schemaValidator(file: string): ValidateFunction {
  const cached = validators.get(file);
  if (cached) return cached;
  let schema: Record<string, unknown>;
  try {
    schema = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  } catch (err) {
    throw new BodySchemaError(`body_schema.file ${file} does not read as JSON: ${errorMessage(err)}`);
  }
  const draft = typeof schema['$schema'] === 'string' ? schema['$schema'] : '';
  const legacy = /draft-0[67]\/schema/.test(draft);
  const ajv = legacy ? new Ajv({ allErrors: true, strict: false }) : new Ajv2020({ allErrors: true, strict: false });
  if (legacy) ajv.addMetaSchema(draft06);
  addFormats(ajv);
  // Before draft-06, a schema's id was `id`; draft-06 renamed it `$id` and `id` is no keyword, which ajv
  // refuses outright. A root `id` string is taken as the `$id` it stands for.
  const root = typeof schema['id'] === 'string' && schema['$id'] === undefined ? { ...schema, $id: schema['id'] } : schema;
  if (root !== schema) delete root['id'];
  let validate: ValidateFunction;
  try {
    validate = ajv.compile(root);
  } catch (err) {
    throw new BodySchemaError(`body_schema.file ${file} is not a schema ajv compiles: ${errorMessage(err)}`);
  }
  validators.set(file, validate);
  return validate;
}
