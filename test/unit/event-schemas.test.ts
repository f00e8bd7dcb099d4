import * as fs from 'fs';
import * as path from 'path';
import Ajv2020 from 'ajv/dist/2020';
import type { ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import { SAMPLE_TYPES, sampleData } from '../../src/events/samples';

const SCHEMA_DIR = path.join(__dirname, '../../schemas');
const EVENTS_DIR = path.join(SCHEMA_DIR, 'events');

type JsonObject = Record<string, unknown>;

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function loadJson(file: string): JsonObject {
  const parsed: unknown = JSON.parse(fs.readFileSync(file, 'utf8'));
  if (!isObject(parsed)) throw new Error(`${file} is not a JSON object`);
  return parsed;
}

function eventSchemaFile(type: string): string {
  return path.join(EVENTS_DIR, `${type}.schema.json`);
}

/**
 * Walks schema and sample together and yields the path of every required
 * property that is present in the sample (top-level and nested, including
 * entries of `additionalProperties` maps such as `changes`).
 */
function requiredPaths(schema: JsonObject, data: unknown, prefix: string[] = []): string[][] {
  if (!isObject(data)) return [];
  const out: string[][] = [];
  const required = Array.isArray(schema['required']) ? (schema['required'] as string[]) : [];
  for (const key of required) {
    if (key in data) out.push([...prefix, key]);
  }
  const properties = isObject(schema['properties']) ? schema['properties'] : {};
  for (const [key, sub] of Object.entries(properties)) {
    if (isObject(sub) && key in data) out.push(...requiredPaths(sub, data[key], [...prefix, key]));
  }
  const additional = schema['additionalProperties'];
  if (isObject(additional)) {
    for (const key of Object.keys(data)) {
      if (!(key in properties)) out.push(...requiredPaths(additional, data[key], [...prefix, key]));
    }
  }
  return out;
}

function deletePath(data: JsonObject, p: string[]): void {
  let cur: unknown = data;
  for (const key of p.slice(0, -1)) {
    if (!isObject(cur)) throw new Error(`path ${p.join('.')} not found`);
    cur = cur[key];
  }
  const last = p[p.length - 1];
  if (!isObject(cur) || last === undefined || !(last in cur)) throw new Error(`path ${p.join('.')} not found`);
  delete cur[last];
}

function errorsOf(validate: ValidateFunction): string {
  return JSON.stringify(validate.errors, null, 2);
}

describe('event JSON schemas', () => {
  const ajv = new Ajv2020({ allErrors: true, strict: true });
  addFormats(ajv);

  const envelopeSchema = loadJson(path.join(SCHEMA_DIR, 'event-envelope.schema.json'));
  const validateEnvelope = ajv.compile(envelopeSchema);

  const eventSchemas = new Map<string, JsonObject>();
  const validators = new Map<string, ValidateFunction>();
  for (const type of SAMPLE_TYPES) {
    const schema = loadJson(eventSchemaFile(type));
    eventSchemas.set(type, schema);
    validators.set(type, ajv.compile(schema));
  }

  function validatorFor(type: string): ValidateFunction {
    const v = validators.get(type);
    if (v === undefined) throw new Error(`no validator for ${type}`);
    return v;
  }

  function schemaFor(type: string): JsonObject {
    const s = eventSchemas.get(type);
    if (s === undefined) throw new Error(`no schema for ${type}`);
    return s;
  }

  it('has exactly one schema file per sample type (24 types)', () => {
    expect(SAMPLE_TYPES).toHaveLength(24);
    const files = fs
      .readdirSync(EVENTS_DIR)
      .filter((f) => f.endsWith('.schema.json'))
      .map((f) => f.replace(/\.schema\.json$/, ''))
      .sort();
    expect(files).toEqual([...SAMPLE_TYPES].sort());
  });

  it('has schemas with the expected $id, title and draft', () => {
    expect(envelopeSchema['$schema']).toBe('https://json-schema.org/draft/2020-12/schema');
    expect(envelopeSchema['$id']).toBe('https://hookhub.dev/schemas/event-envelope.schema.json');
    for (const type of SAMPLE_TYPES) {
      const schema = schemaFor(type);
      expect(schema['$schema']).toBe('https://json-schema.org/draft/2020-12/schema');
      expect(schema['$id']).toBe(`https://hookhub.dev/schemas/events/${type}.schema.json`);
      expect(schema['title']).toBe(type);
      expect(schema['additionalProperties']).toBe(true);
    }
  });

  it('gives every property a description', () => {
    const missing: string[] = [];
    const walk = (schema: JsonObject, where: string): void => {
      const properties = isObject(schema['properties']) ? schema['properties'] : {};
      for (const [key, sub] of Object.entries(properties)) {
        if (!isObject(sub)) continue;
        if (typeof sub['description'] !== 'string' || sub['description'] === '') missing.push(`${where}.${key}`);
        walk(sub, `${where}.${key}`);
      }
      for (const kw of ['items', 'additionalProperties']) {
        const sub = schema[kw];
        if (isObject(sub)) walk(sub, `${where}[${kw}]`);
      }
    };
    walk(envelopeSchema, 'envelope');
    for (const type of SAMPLE_TYPES) walk(schemaFor(type), type);
    expect(missing).toEqual([]);
  });

  describe.each([...SAMPLE_TYPES])('%s', (type) => {
    it('sample validates against its schema', () => {
      const validate = validatorFor(type);
      const ok = validate(sampleData(type));
      if (!ok) throw new Error(`sample for ${type} invalid: ${errorsOf(validate)}`);
      expect(ok).toBe(true);
    });

    it('fails when any required field is removed', () => {
      const validate = validatorFor(type);
      const paths = requiredPaths(schemaFor(type), sampleData(type));
      const topRequired = schemaFor(type)['required'] as string[];
      // every top-level required field must be covered
      for (const key of topRequired) expect(paths).toContainEqual([key]);
      for (const p of paths) {
        const data = sampleData(type);
        deletePath(data, p);
        if (validate(data)) throw new Error(`${type} still valid without ${p.join('.')}`);
        expect(validate.errors?.some((e) => e.keyword === 'required')).toBe(true);
      }
    });

    it('sample wrapped in an envelope validates against the envelope schema', () => {
      const envelope = {
        id: 'evt_01hz3k9q7r',
        type,
        version: '1.0',
        timestamp: new Date().toISOString(),
        data: sampleData(type),
        metadata: { source: 'lawless-directory', correlation_id: 'req_abc123' },
      };
      const ok = validateEnvelope(envelope);
      if (!ok) throw new Error(`envelope for ${type} invalid: ${errorsOf(validateEnvelope)}`);
      expect(ok).toBe(true);
    });
  });

  it('rejects review.created with rating 6', () => {
    const data = { ...sampleData('review.created'), rating: 6 };
    expect(validatorFor('review.created')(data)).toBe(false);
  });

  it("takes review.created with or without the author's user id, but not an empty one", () => {
    const validate = validatorFor('review.created');
    const withAuthor = (author: Record<string, unknown>): Record<string, unknown> => ({ ...sampleData('review.created'), author });
    expect(validate(withAuthor({ name: 'Jamie L.' }))).toBe(true);
    expect(validate(withAuthor({ name: 'Jamie L.', user_id: 'usr_5e6f7g' }))).toBe(true);
    expect(validate(withAuthor({ name: 'Jamie L.', user_id: '' }))).toBe(false);
    expect(validate(withAuthor({ name: 'Jamie L.', user_id: 42 }))).toBe(false);
  });

  it('rejects business.created with a malformed contact email', () => {
    const data = sampleData('business.created');
    data['contact'] = { phone: '+1-541-555-0142', email: 'not-an-email', website: 'https://rosascorner.example' };
    const validate = validatorFor('business.created');
    expect(validate(data)).toBe(false);
    expect(validate.errors?.some((e) => e.keyword === 'format' && e.instancePath === '/contact/email')).toBe(true);
  });

  it('rejects business.updated / review.updated with empty changes', () => {
    expect(validatorFor('business.updated')({ ...sampleData('business.updated'), changes: {} })).toBe(false);
    expect(validatorFor('review.updated')({ ...sampleData('review.updated'), changes: {} })).toBe(false);
  });

  it('accepts extra top-level data fields added by the backend', () => {
    const data = { ...sampleData('business.deleted'), deleted_by: 'usr_5e6f7g' };
    expect(validatorFor('business.deleted')(data)).toBe(true);
  });

  describe('envelope', () => {
    const base = (): JsonObject => ({
      id: 'evt_01hz3k9q7r',
      type: 'business.created',
      version: '1.0',
      timestamp: new Date().toISOString(),
      data: sampleData('business.created'),
    });

    it('accepts an envelope without metadata', () => {
      expect(validateEnvelope(base())).toBe(true);
    });

    it('rejects an unknown top-level property', () => {
      expect(validateEnvelope({ ...base(), extra: true })).toBe(false);
      expect(validateEnvelope.errors?.some((e) => e.keyword === 'additionalProperties')).toBe(true);
    });

    it.each<[string, string, unknown]>([
      ['id', 'empty', ''],
      ['id', 'with spaces', 'evt with spaces'],
      ['id', 'of 201 chars', 'x'.repeat(201)],
      ['type', 'uppercase', 'Business.Created'],
      ['type', 'without action', 'business'],
      ['version', '"v1"', 'v1'],
      ['timestamp', 'not a date-time', 'yesterday'],
      ['data', 'not an object', 'not-an-object'],
      ['metadata', 'an array', []],
    ])('rejects %s %s', (field, _label, value) => {
      expect(validateEnvelope({ ...base(), [field]: value })).toBe(false);
    });

    it('requires id, type, version, timestamp and data', () => {
      for (const field of ['id', 'type', 'version', 'timestamp', 'data']) {
        const env = base();
        delete env[field];
        expect(validateEnvelope(env)).toBe(false);
      }
    });
  });

  describe('sampleData', () => {
    it('returns a fresh object on each call', () => {
      const a = sampleData('business.created');
      const b = sampleData('business.created');
      expect(a).not.toBe(b);
      (a['address'] as JsonObject)['city'] = 'Mutated';
      expect((b['address'] as JsonObject)['city']).not.toBe('Mutated');
      expect((sampleData('business.created')['address'] as JsonObject)['city']).not.toBe('Mutated');
    });

    it('throws for an unknown type', () => {
      expect(() => sampleData('business.exploded')).toThrow(Error);
      expect(() => sampleData('constructor')).toThrow(Error);
    });
  });
});
