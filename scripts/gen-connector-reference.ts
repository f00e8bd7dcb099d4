/**
 * Generates docs/connectors/manifest-reference.md from the connector schemas
 * (schemas/connector.schema.json and schemas/connector-fixture.schema.json).
 *
 *   npm run docs:connectors            write the page
 *   npm run docs:connectors -- --check exit 1 when the committed page is out of date
 *
 * The output depends only on the schemas and follows their key order, so the
 * same schemas always give the same page. Keywords this generator does not know
 * make it throw instead of being left out of the page silently.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

const ROOT = path.join(__dirname, '..');
export const REFERENCE_FILE = path.join(ROOT, 'docs', 'connectors', 'manifest-reference.md');
const SOURCES = [
  { file: 'schemas/connector.schema.json', prefix: 'manifest', role: 'connectors/<name>/connector.yaml' },
  { file: 'schemas/connector-fixture.schema.json', prefix: 'fixture', role: 'connectors/<name>/fixtures/*.yaml' },
] as const;

interface JsonSchema {
  $schema?: string;
  $id?: string;
  $ref?: string;
  $defs?: Record<string, JsonSchema>;
  title?: string;
  description?: string;
  type?: string | string[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  additionalProperties?: boolean | JsonSchema;
  propertyNames?: JsonSchema;
  minProperties?: number;
  items?: JsonSchema;
  minItems?: number;
  maxItems?: number;
  oneOf?: JsonSchema[];
  anyOf?: JsonSchema[];
  not?: JsonSchema;
  /** OpenAPI-style hint naming the field that picks a oneOf form. */
  discriminator?: { propertyName: string };
  enum?: unknown[];
  const?: unknown;
  default?: unknown;
  pattern?: string;
  format?: string;
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
}

const KNOWN_KEYWORDS = new Set([
  '$schema', '$id', '$ref', '$defs', '$comment', 'title', 'description', 'type', 'properties', 'required',
  'additionalProperties', 'propertyNames', 'minProperties', 'items', 'minItems', 'maxItems', 'oneOf', 'anyOf',
  'not', 'discriminator', 'enum', 'const', 'default', 'pattern', 'format', 'minLength', 'maxLength', 'minimum', 'maximum',
  'exclusiveMinimum', 'exclusiveMaximum',
]);

/** Rendering state of one schema file. */
interface Context {
  file: string;
  prefix: string;
  root: JsonSchema;
  anchors: Set<string>;
}

/** A property value that gets a section of its own, and how the property holds it. */
interface Nested {
  schema: JsonSchema;
  via: 'self' | 'items' | 'map';
}

// ---------------------------------------------------------------- loading

function loadSchema(relative: string): JsonSchema {
  const parsed: unknown = JSON.parse(fs.readFileSync(path.join(ROOT, relative), 'utf8'));
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error(`${relative} is not a JSON object`);
  checkKeywords(parsed as JsonSchema, `${relative}#`);
  return parsed as JsonSchema;
}

/** Refuses keywords the page would not show, so a schema change cannot silently go undocumented. */
function checkKeywords(schema: JsonSchema, at: string): void {
  for (const key of Object.keys(schema)) {
    if (!KNOWN_KEYWORDS.has(key) && !key.startsWith('x-')) {
      throw new Error(`gen-connector-reference: unsupported keyword "${key}" at ${at}; teach scripts/gen-connector-reference.ts to show it`);
    }
  }
  const sub = (s: JsonSchema | undefined, p: string): void => {
    if (s !== undefined) checkKeywords(s, `${at}/${p}`);
  };
  for (const [k, s] of Object.entries(schema.$defs ?? {})) sub(s, `$defs/${k}`);
  for (const [k, s] of Object.entries(schema.properties ?? {})) sub(s, `properties/${k}`);
  if (typeof schema.additionalProperties === 'object') sub(schema.additionalProperties, 'additionalProperties');
  sub(schema.propertyNames, 'propertyNames');
  sub(schema.items, 'items');
  sub(schema.not, 'not');
  (schema.oneOf ?? []).forEach((s, i) => sub(s, `oneOf/${i}`));
  (schema.anyOf ?? []).forEach((s, i) => sub(s, `anyOf/${i}`));
}

// ---------------------------------------------------------------- markdown helpers

/** A code span that survives backticks and edge spaces in its content. */
function code(text: string): string {
  const runs = text.match(/`+/g) ?? [];
  const fence = '`'.repeat(Math.max(0, ...runs.map((r) => r.length)) + 1);
  const pad = text.startsWith('`') || text.endsWith('`') || text.startsWith(' ') || text.endsWith(' ') ? ' ' : '';
  return `${fence}${pad}${text}${pad}${fence}`;
}

/** Escapes prose for Markdown, leaving `code spans` in it alone. */
function prose(text: string): string {
  return text
    .replace(/\s*\n\s*/g, ' ')
    .split(/(`+[^`]*`+)/)
    .map((part, i) => (i % 2 === 1 ? part : part.replace(/[\\*<>]/g, (c) => ({ '\\': '\\\\', '*': '\\*', '<': '&lt;', '>': '&gt;' })[c] ?? c)))
    .join('');
}

/** Makes text safe inside a table cell. */
function cell(text: string): string {
  return text.replace(/\r?\n/g, ' ').replace(/\|/g, '\\|');
}

/** A value (enum member, const, default) as the YAML author would write it. */
function literal(value: unknown): string {
  if (typeof value === 'string' && /^[A-Za-z0-9_.-]+$/.test(value) && !/^(true|false|null|yes|no|on|off|[0-9.eE+-]+)$/i.test(value)) return code(value);
  return code(JSON.stringify(value));
}

function slug(text: string): string {
  return text.toLowerCase().replace(/[^a-z0-9_]+/g, '-').replace(/^-+|-+$/g, '');
}

// ---------------------------------------------------------------- types

function defName(ctx: Context, ref: string): string {
  const match = /^#\/\$defs\/([^/]+)$/.exec(ref);
  if (!match?.[1] || !ctx.root.$defs?.[match[1]]) throw new Error(`gen-connector-reference: cannot resolve $ref "${ref}" in ${ctx.file}`);
  return match[1];
}

function defAnchor(ctx: Context, name: string): string {
  return `${ctx.prefix}-${slug(name)}`;
}

function isNestedObject(schema: JsonSchema): boolean {
  return schema.properties !== undefined && Object.keys(schema.properties).length > 0;
}

/** The object (with properties) a property holds directly, as array items or as map values. */
function nestedOf(schema: JsonSchema): Nested | undefined {
  if (isNestedObject(schema)) return { schema, via: 'self' };
  if (schema.items && isNestedObject(schema.items)) return { schema: schema.items, via: 'items' };
  if (typeof schema.additionalProperties === 'object' && isNestedObject(schema.additionalProperties)) {
    return { schema: schema.additionalProperties, via: 'map' };
  }
  return undefined;
}

function constraints(schema: JsonSchema): string[] {
  const out: string[] = [];
  const range = (min: number | undefined, max: number | undefined, unit: string): void => {
    if (min !== undefined && max !== undefined) out.push(`${unit}${min}–${max}`);
    else if (min !== undefined) out.push(`${unit}≥ ${min}`);
    else if (max !== undefined) out.push(`${unit}≤ ${max}`);
  };
  if (schema.minLength === 1 && schema.maxLength === undefined) out.push('non-empty');
  else range(schema.minLength, schema.maxLength, 'length ');
  if (schema.format !== undefined) out.push(`format ${code(schema.format)}`);
  if (schema.pattern !== undefined) out.push(`pattern ${code(schema.pattern)}`);
  range(schema.minimum, schema.maximum, '');
  if (schema.exclusiveMinimum !== undefined) out.push(`> ${schema.exclusiveMinimum}`);
  if (schema.exclusiveMaximum !== undefined) out.push(`< ${schema.exclusiveMaximum}`);
  if (schema.minItems === 1 && schema.maxItems === undefined) out.push('non-empty');
  else range(schema.minItems, schema.maxItems, 'items ');
  if (schema.minProperties === 1) out.push('non-empty');
  else if (schema.minProperties !== undefined) out.push(`at least ${schema.minProperties} entries`);
  if (schema.propertyNames?.pattern !== undefined) out.push(`keys match ${code(schema.propertyNames.pattern)}`);
  return out;
}

/**
 * The type of a schema in words: $refs link to their section, enums and consts
 * list their values, oneOf alternatives are joined with "or". `nestedAnchor` is
 * the section of the object this schema holds (see nestedOf), when it has one.
 */
function typeOf(ctx: Context, schema: JsonSchema, nestedAnchor?: string, inner = false): string {
  let base: string;
  if (schema.$ref !== undefined) {
    const name = defName(ctx, schema.$ref);
    base = `[${name}](#${defAnchor(ctx, name)})`;
  } else if ('const' in schema) {
    base = literal(schema.const);
  } else if (schema.enum !== undefined) {
    base = `one of ${schema.enum.map(literal).join(', ')}`;
  } else if (schema.oneOf !== undefined && schema.oneOf.every((alt) => alt.title === undefined && !isStructural(alt))) {
    const alternatives = schema.oneOf.map((alt) => typeOf(ctx, alt, undefined, true));
    base = alternatives.length === 2 ? `either ${alternatives.join(' or ')}` : `one of: ${alternatives.join('; ')}`;
  } else if (isNestedObject(schema)) {
    if (nestedAnchor === undefined) throw new Error(`gen-connector-reference: nested object without a section in ${ctx.file}`);
    base = `[object](#${nestedAnchor})`;
  } else {
    const types = schema.type === undefined ? [] : Array.isArray(schema.type) ? schema.type : [schema.type];
    base = types.length === 0 ? 'any' : types
      .map((t) => {
        if (t === 'array' && schema.items) return `array of ${typeOf(ctx, schema.items, nestedAnchor, true)}`;
        if (t === 'object' && typeof schema.additionalProperties === 'object') {
          return `map (name → ${typeOf(ctx, schema.additionalProperties, nestedAnchor, true)})`;
        }
        return t;
      })
      .join(' or ');
  }
  const extra = constraints(schema);
  if (extra.length === 0) return base;
  return inner ? `${base} (${extra.join(', ')})` : `${base}, ${extra.join(', ')}`;
}

/** An alternative that only says which fields must (not) be present, e.g. {required: [url], not: {required: [path]}}. */
function isStructural(schema: JsonSchema): boolean {
  return Object.keys(schema).every((k) => k === 'required' || k === 'not') && schema.required !== undefined;
}

function fieldList(names: string[], conjunction: string): string {
  const codes = names.map(code);
  return codes.length <= 1 ? codes.join('') : `${codes.slice(0, -1).join(', ')} ${conjunction} ${codes[codes.length - 1] ?? ''}`;
}

// ---------------------------------------------------------------- sections

function heading(depth: number, text: string, anchor: string, ctx: Context): string[] {
  if (ctx.anchors.has(anchor)) throw new Error(`gen-connector-reference: two sections would share the anchor "${anchor}"`);
  ctx.anchors.add(anchor);
  return [`<a id="${anchor}"></a>`, '', `${'#'.repeat(Math.min(depth, 6))} ${text}`, ''];
}

function childName(parent: string, prop: string, via: Nested['via']): string {
  const base = parent === '' ? prop : `${parent}.${prop}`;
  return via === 'items' ? `${base}[]` : via === 'map' ? `${base}.<name>` : base;
}

function childAnchor(parentAnchor: string, prop: string, via: Nested['via']): string {
  return `${parentAnchor}-${slug(prop)}${via === 'items' ? '-item' : via === 'map' ? '-entry' : ''}`;
}

function propertyTable(ctx: Context, schema: JsonSchema, anchor: string, required: string[]): string[] {
  const rows = ['| Field | Type | Required | Default | Description |', '| --- | --- | --- | --- | --- |'];
  for (const [name, prop] of Object.entries(schema.properties ?? {})) {
    const nested = nestedOf(prop);
    const type = typeOf(ctx, prop, nested ? childAnchor(anchor, name, nested.via) : undefined);
    let description = prop.description;
    if (description === undefined && prop.$ref !== undefined) description = ctx.root.$defs?.[defName(ctx, prop.$ref)]?.description;
    rows.push(
      `| ${[
        code(name),
        type,
        required.includes(name) ? 'yes' : 'no',
        prop.default === undefined ? '' : literal(prop.default),
        prose(description ?? ''),
      ]
        .map(cell)
        .join(' | ')} |`,
    );
  }
  return rows;
}

/** Notes on rules a table cannot show: url-or-path style oneOf/anyOf, closed objects. */
function notes(schema: JsonSchema): string[] {
  const out: string[] = [];
  const exclusive = schema.oneOf?.filter(isStructural) ?? [];
  if (exclusive.length > 0 && exclusive.length === schema.oneOf?.length) {
    out.push(`Give exactly one of ${fieldList(exclusive.flatMap((alt) => alt.required ?? []), 'and')}.`);
  }
  const some = schema.anyOf?.filter(isStructural) ?? [];
  if (some.length > 0 && some.length === schema.anyOf?.length) {
    out.push(`Give at least one of ${fieldList(some.flatMap((alt) => alt.required ?? []), 'and')}.`);
  } else if (schema.anyOf !== undefined) {
    throw new Error('gen-connector-reference: only anyOf of required-field alternatives is supported');
  }
  if (schema.additionalProperties === false && schema.properties !== undefined) out.push('No other fields are allowed.');
  return out;
}

interface SectionOptions {
  /** Required fields of the enclosing schema (for oneOf forms). */
  inheritedRequired?: string[];
  /** Lines shown after the description. */
  intro?: string[];
}

function renderSection(ctx: Context, schema: JsonSchema, name: string, title: string, anchor: string, depth: number, options: SectionOptions = {}): string[] {
  const lines = heading(depth, title, anchor, ctx);
  if (schema.description !== undefined) lines.push(prose(schema.description), '');
  if (options.intro) lines.push(...options.intro, '');
  const required = [...(options.inheritedRequired ?? []), ...(schema.required ?? [])];
  const titled = schema.oneOf?.filter((alt) => alt.title !== undefined) ?? [];
  if (titled.length > 0 && titled.length !== schema.oneOf?.length) throw new Error(`gen-connector-reference: ${name} mixes titled and untitled oneOf alternatives`);

  if (isNestedObject(schema)) {
    lines.push(...propertyTable(ctx, schema, anchor, required), '');
  } else if (titled.length === 0) {
    lines.push(`Type: ${typeOf(ctx, schema)}`, '');
  }
  const extra = notes(schema);
  if (extra.length > 0) lines.push(extra.join(' '), '');

  for (const [prop, propSchema] of Object.entries(schema.properties ?? {})) {
    const nested = nestedOf(propSchema);
    if (!nested) continue;
    const child = childName(name, prop, nested.via);
    lines.push(...renderSection(ctx, nested.schema, child, code(child), childAnchor(anchor, prop, nested.via), depth + 1));
  }

  if (titled.length > 0) {
    const discriminator = schema.discriminator?.propertyName ?? Object.keys(titled[0]?.properties ?? {}).find((p) => titled.every((alt) => alt.properties?.[p] && 'const' in (alt.properties[p] ?? {})));
    const list = titled.map((alt) => `[${alt.title ?? ''}](#${anchor}-${slug(alt.title ?? '')})`).join(', ');
    lines.push(
      discriminator === undefined
        ? `Exactly one of these forms: ${list}.`
        : `Exactly one of these forms, chosen by ${code(discriminator)}: ${list}.`,
      '',
    );
    if (required.length > 0) lines.push(`Required in every form: ${fieldList(required, 'and')}.`, '');
    for (const alt of titled) {
      const altTitle = alt.title ?? '';
      lines.push(...renderSection(ctx, alt, name, code(altTitle), `${anchor}-${slug(altTitle)}`, depth + 1, { inheritedRequired: required }));
    }
  }
  return lines;
}

function renderSchema(file: string, prefix: string, role: string): string[] {
  const root = loadSchema(file);
  const ctx: Context = { file, prefix, root, anchors: new Set() };
  const lines = renderSection(ctx, root, '', root.title ?? file, prefix, 2, {
    intro: [`File: ${code(role)}. Schema: [${code(file)}](../../${file}).`],
  });
  for (const [name, def] of Object.entries(root.$defs ?? {})) {
    lines.push(...renderSection(ctx, def, name, code(name), defAnchor(ctx, name), 3));
  }
  return lines;
}

/** The whole reference page. */
export function renderConnectorReference(): string {
  const sections = SOURCES.map((s) => renderSchema(s.file, s.prefix, s.role));
  const toc = sections.flatMap((lines) =>
    lines.flatMap((line, i) => {
      const m = /^(#{2,4}) (.*)$/.exec(line);
      const anchor = /^<a id="([^"]+)"><\/a>$/.exec(lines[i - 2] ?? '')?.[1];
      if (!m?.[1] || m[2] === undefined || anchor === undefined) return [];
      return [`${'  '.repeat(m[1].length - 2)}- [${m[2]}](#${anchor})`];
    }),
  );
  const page = [
    '<!-- Generated by scripts/gen-connector-reference.ts from schemas/connector.schema.json and schemas/connector-fixture.schema.json. Do not edit: run `npm run docs:connectors`. -->',
    '',
    '# Connector manifest reference',
    '',
    '> This page is generated from the JSON Schemas',
    `> [${code(SOURCES[0].file)}](../../${SOURCES[0].file}) and [${code(SOURCES[1].file)}](../../${SOURCES[1].file})`,
    '> by `npm run docs:connectors`. Do not edit it by hand: change the schemas and run the command again.',
    '',
    'For a walk-through, see [Write your first connector](write-your-first-connector.md).',
    'Expressions are JSONata; templates are strings with `{{ JSONata }}` placeholders.',
    '',
    '## Contents',
    '',
    ...toc,
    '',
    ...sections.flat(),
  ];
  return `${page.join('\n').replace(/\n{3,}/g, '\n\n').trimEnd()}\n`;
}

function main(argv: string[]): void {
  const rendered = renderConnectorReference();
  const relative = path.relative(ROOT, REFERENCE_FILE);
  if (argv.includes('--check')) {
    const committed = fs.existsSync(REFERENCE_FILE) ? fs.readFileSync(REFERENCE_FILE, 'utf8') : undefined;
    if (committed !== rendered) {
      process.stderr.write(
        `${relative} is ${committed === undefined ? 'missing' : 'out of date with the schemas'}. Run \`npm run docs:connectors\` and commit the result.\n`,
      );
      process.exit(1);
    }
    process.stdout.write(`${relative} is up to date.\n`);
    return;
  }
  fs.mkdirSync(path.dirname(REFERENCE_FILE), { recursive: true });
  fs.writeFileSync(REFERENCE_FILE, rendered);
  process.stdout.write(`wrote ${relative}\n`);
}

if (require.main === module) main(process.argv.slice(2));
