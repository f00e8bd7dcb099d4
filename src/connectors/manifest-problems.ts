import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { ErrorObject } from 'ajv';
import { LineCounter, parseDocument } from 'yaml';
import type { Document } from 'yaml';

/** One thing wrong with a manifest, placed as precisely as we can. */
export interface ManifestProblem {
  file: string;
  line: number | null;
  column: number | null;
  /** JSON pointer into the manifest, e.g. /triggers/0/mapping. */
  path: string;
  message: string;
}

/** ajv errors as pointer + message, dropping the noise of unmatched oneOf branches. */
export function schemaProblems(errors: ErrorObject[] | null | undefined): Array<{ path: string; message: string }> {
  const list = errors ?? [];
  const out: Array<{ path: string; message: string }> = [];
  for (const e of list) {
    let pointer = e.instancePath;
    let message = e.message ?? 'is invalid';
    if (e.keyword === 'required') {
      pointer += `/${String(e.params['missingProperty'])}`;
      message = 'is required';
    } else if (e.keyword === 'additionalProperties') {
      pointer += `/${String(e.params['additionalProperty'])}`;
      message = 'is not a known field; check its spelling against schemas/connector.schema.json';
    } else if (e.keyword === 'oneOf' && /^\/actions\/[^/]+$/.test(e.instancePath)) {
      message = 'needs exactly one of url (absolute) or path (under base_url)';
    } else if (e.keyword === 'oneOf' || e.keyword === 'not' || e.keyword === 'anyOf') {
      if (list.some((o) => o !== e && o.instancePath.startsWith(e.instancePath) && o.keyword !== e.keyword)) continue;
      if (e.keyword === 'anyOf' && /^\/errors\/\d+$/.test(e.instancePath)) message = 'needs status or body (or both) to say which responses it matches';
    } else if (e.keyword === 'enum') {
      message = `must be one of: ${(e.params['allowedValues'] as unknown[]).join(', ')}`;
    } else if (e.keyword === 'discriminator') {
      message = 'auth.type must be one of: none, api_key, basic, webhook_url, oauth2';
    }
    if (!out.some((o) => o.path === (pointer || '/') && o.message === message)) out.push({ path: pointer || '/', message });
  }
  return out;
}

/** A problem placed at the line and column of the deepest node of its pointer that exists. */
export function placeProblem(file: string, doc: Document, lc: LineCounter, pointer: string, message: string): ManifestProblem {
  const segments = pointer.split('/').slice(1).map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
  // The deepest node that exists: a missing field is reported where its parent is.
  for (let n = segments.length; n >= 0; n--) {
    const keys = segments.slice(0, n).map((s) => (/^\d+$/.test(s) ? Number(s) : s));
    const node = n === 0 ? doc.contents : (doc.getIn(keys, true) as { range?: [number, number, number] } | undefined);
    const range = (node as { range?: [number, number, number] } | null | undefined)?.range;
    if (range) {
      const pos = lc.linePos(range[0]);
      return { file, line: pos.line, column: pos.col, path: pointer || '/', message };
    }
  }
  return { file, line: null, column: null, path: pointer || '/', message };
}

/** Each problem once (the schema and the compiler can report the same). */
export function dedupe(problems: ManifestProblem[]): ManifestProblem[] {
  const seen = new Set<string>();
  return problems.filter((p) => {
    const key = `${p.file}|${p.path}|${p.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

export function formatProblem(p: ManifestProblem, cwd = process.cwd()): string {
  const file = path.relative(cwd, p.file) || p.file;
  const place = p.line === null ? file : `${file}:${p.line}:${p.column ?? 1}`;
  return `${place}  ${p.path}  ${p.message}`;
}

/** The line and column of a pointer in a manifest file, read again (for failures a run reports after loading). */
export function placePointer(file: string, pointer: string): { line: number | null; column: number | null } {
  try {
    const lineCounter = new LineCounter();
    const doc = parseDocument(readFileSync(file, 'utf8'), { lineCounter });
    const { line, column } = placeProblem(file, doc, lineCounter, pointer, '');
    return { line, column };
  } catch {
    return { line: null, column: null };
  }
}
