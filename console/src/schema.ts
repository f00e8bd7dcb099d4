/**
 * The JSON Schema subset the event catalog uses (type, required, properties, items, enum, const,
 * minLength, maxLength, minimum, maximum, pattern, format as a hint): checked as the user types.
 * No code generation (the Content-Security-Policy forbids eval).
 */
export type Schema = {
  type?: string | string[];
  properties?: Record<string, Schema>;
  required?: string[];
  items?: Schema;
  enum?: unknown[];
  const?: unknown;
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  pattern?: string;
  format?: string;
  additionalProperties?: boolean | Schema;
  examples?: unknown[];
  default?: unknown;
  description?: string;
  anyOf?: Schema[];
  oneOf?: Schema[];
};

export interface Problem {
  path: string;
  message: string;
}

function typeOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  return typeof v;
}

export function validate(schema: Schema, value: unknown, path = ''): Problem[] {
  const out: Problem[] = [];
  const at = path || '/';
  if (schema.anyOf || schema.oneOf) {
    const options = schema.anyOf ?? schema.oneOf ?? [];
    if (!options.some((s) => validate(s, value, path).length === 0)) out.push({ path: at, message: 'matches none of the allowed shapes' });
    return out;
  }
  if (schema.type) {
    const types = Array.isArray(schema.type) ? schema.type : [schema.type];
    const t = typeOf(value);
    if (!types.includes(t) && !(t === 'integer' && types.includes('number'))) {
      out.push({ path: at, message: `must be ${types.join(' or ')}, not ${t}` });
      return out;
    }
  }
  if (schema.const !== undefined && JSON.stringify(schema.const) !== JSON.stringify(value)) out.push({ path: at, message: `must be ${JSON.stringify(schema.const)}` });
  if (schema.enum && !schema.enum.some((e) => JSON.stringify(e) === JSON.stringify(value))) out.push({ path: at, message: `must be one of ${schema.enum.map((e) => JSON.stringify(e)).join(', ')}` });
  if (typeof value === 'string') {
    if (schema.minLength !== undefined && value.length < schema.minLength) out.push({ path: at, message: schema.minLength === 1 ? 'must not be empty' : `must have at least ${schema.minLength} characters` });
    if (schema.maxLength !== undefined && value.length > schema.maxLength) out.push({ path: at, message: `must have at most ${schema.maxLength} characters` });
    if (schema.pattern !== undefined && !new RegExp(schema.pattern, 'u').test(value)) out.push({ path: at, message: `must match ${schema.pattern}` });
    if (schema.format === 'date-time' && Number.isNaN(Date.parse(value))) out.push({ path: at, message: 'must be a date-time (ISO 8601)' });
    if (schema.format === 'uri' && !/^[a-z][a-z0-9+.-]*:/i.test(value)) out.push({ path: at, message: 'must be a URI' });
  }
  if (typeof value === 'number') {
    if (schema.minimum !== undefined && value < schema.minimum) out.push({ path: at, message: `must be at least ${schema.minimum}` });
    if (schema.maximum !== undefined && value > schema.maximum) out.push({ path: at, message: `must be at most ${schema.maximum}` });
  }
  if (value && typeof value === 'object' && !Array.isArray(value)) {
    const obj = value as Record<string, unknown>;
    for (const name of schema.required ?? []) if (!(name in obj)) out.push({ path: `${path}/${name}`, message: 'is required' });
    for (const [name, v] of Object.entries(obj)) {
      const sub = schema.properties?.[name];
      if (sub) out.push(...validate(sub, v, `${path}/${name}`));
      else if (schema.additionalProperties === false) out.push({ path: `${path}/${name}`, message: 'is not an allowed property' });
    }
  }
  if (Array.isArray(value) && schema.items) value.forEach((v, i) => out.push(...validate(schema.items as Schema, v, `${path}/${i}`)));
  return out;
}

/** A value that fits the schema: its examples or defaults, else placeholders by type. */
export function sampleFor(schema: Schema, name = 'value'): unknown {
  if (schema.examples?.length) return schema.examples[0];
  if (schema.default !== undefined) return schema.default;
  if (schema.const !== undefined) return schema.const;
  if (schema.enum?.length) return schema.enum[0];
  const first = schema.anyOf?.[0] ?? schema.oneOf?.[0];
  if (first) return sampleFor(first, name);
  const type = Array.isArray(schema.type) ? schema.type.find((t) => t !== 'null') : schema.type;
  switch (type) {
    case 'object': {
      const out: Record<string, unknown> = {};
      for (const [k, s] of Object.entries(schema.properties ?? {})) if ((schema.required ?? []).includes(k) || !schema.required) out[k] = sampleFor(s, k);
      return out;
    }
    case 'array':
      return schema.items ? [sampleFor(schema.items, name)] : [];
    case 'integer':
    case 'number':
      return schema.minimum ?? 1;
    case 'boolean':
      return true;
    case 'string':
      if (schema.format === 'date-time') return new Date(0).toISOString();
      if (schema.format === 'email') return 'someone@example.com';
      if (schema.format === 'uri') return 'https://example.com';
      return `sample ${name}`;
    default:
      return null;
  }
}
