import path from 'node:path';
import type { CompiledAction, LoadedConnector } from './compiled-connector';
import { placePointer } from './manifest-problems';

/**
 * Where a connector's failure comes from: the manifest field whose template failed, and, for a
 * URL that is not one, which of the link's values it was built from. A failure that blames the
 * link when the manifest is wrong sends the engineer to the wrong file.
 */

/** The manifest's place of a failure a run reports ("connector x, action y, url: ..."), when it names one. */
export interface FailurePlace {
  file: string;
  line: number | null;
  column: number | null;
  /** Pointer into the manifest; null for a mapping file. */
  pointer: string | null;
}

export function failurePlace(connector: LoadedConnector, reason: string): FailurePlace | null {
  const prefix = `connector ${connector.manifest.name}, `;
  if (!reason.startsWith(prefix)) return null;
  const match = /^(action|trigger) ([^,]+), (.+?): /.exec(reason.slice(prefix.length));
  if (!match) return null;
  const [, kind, name = '', part = ''] = match;
  const inManifest = (pointer: string | null): FailurePlace | null => (pointer === null ? null : { file: connector.file, ...placePointer(connector.file, pointer), pointer });
  if (kind === 'trigger') {
    const index = connector.triggers.findIndex((t) => t.name === name);
    const spec = connector.manifest.triggers[index];
    if (!spec) return null;
    if (part === 'when') return inManifest(`/triggers/${index}/when`);
    if (spec.mapping_file !== undefined) return { file: path.resolve(connector.dir, spec.mapping_file), line: null, column: null, pointer: null };
    return inManifest(spec.mapping !== undefined ? `/triggers/${index}/mapping` : null);
  }
  const action = connector.actions.get(name);
  return action ? inManifest(actionPointer(connector, action, part)) : null;
}

function actionPointer(connector: LoadedConnector, action: CompiledAction, part: string): string | null {
  const at = `/actions/${action.name}`;
  if (part === 'url') return action.url ? `${at}/url` : `${at}/path`;
  if (part === 'base_url') return '/base_url';
  if (['method', 'path', 'body', 'headers'].includes(part)) return `${at}/${part}`;
  if (part === 'idempotency key') return `${at}/idempotency/key`;
  if (part === 'response.id' || part === 'response.created') return `${at}/response/${part.slice('response.'.length)}`;
  if (part.startsWith('query ')) return `${at}/query/${part.slice('query '.length)}`;
  if (part.startsWith('header ')) {
    const headers = connector.manifest.actions[action.name]?.headers;
    if (typeof headers !== 'object') return `${at}/headers`;
    const wanted = part.slice('header '.length).toLowerCase();
    const key = Object.keys(headers).find((h) => h.toLowerCase() === wanted);
    return key === undefined ? `${at}/headers` : `${at}/headers/${key.replace(/~/g, '~0').replace(/\//g, '~1')}`;
  }
  return null;
}

/**
 * What to check when an action's URL renders to something that is not a URL: the link's values
 * its templates read (credentials, settings, kept token values), else the manifest itself.
 */
export function urlSuspects(connector: LoadedConnector, action: CompiledAction, baseUrlOverridden: boolean): string {
  const place = action.url ? `actions.${action.name}.url` : `base_url and actions.${action.name}.path`;
  const sources = action.url ? [action.url.source] : [...(baseUrlOverridden ? [] : [connector.baseUrl?.source ?? '']), action.path?.source ?? ''];
  const reads = [...new Set(sources.flatMap((s) => [...s.matchAll(/\$(credentials|config|connection)((?:\.[A-Za-z_][A-Za-z0-9_]*)*)/g)].map((m) => `$${m[1]}${m[2] ?? ''}`)))];
  const suspects: string[] = [];
  if (baseUrlOverridden) suspects.push(`the base URL override (HOOKHUB_${connector.manifest.name.toUpperCase().replace(/-/g, '_')}_BASE_URL)`);
  if (reads.some((r) => r.startsWith('$credentials'))) suspects.push(`the link's credentials (PATCH /v1/connections/<id> with credentials)`);
  if (reads.some((r) => r.startsWith('$config'))) suspects.push(`the link's settings (config)`);
  if (reads.some((r) => r.startsWith('$connection'))) suspects.push('the values kept from the token response or the account request (link the account again, or POST /v1/connections/:id/check to read them again)');
  if (suspects.length === 0) return `it is built by the connector's ${place} alone: the manifest is wrong, not the link`;
  return `it is built from ${reads.length > 0 ? reads.join(', ') : 'the override'} by the connector's ${place}: check ${suspects.join(' and ')}, then the manifest`;
}
