import { errorMessage, HubError } from '../core/errors';
import { evaluateIn } from './connector-failure';
import type { CompiledReadback, LoadedConnector } from './compiled-connector';
import { renderRequest } from './request-renderer';
import { judgeResponse, parseBody } from './response-rules';
import type { ConnectionContext, Transport } from './run-types';
import { secretMasker } from './secret-masker';

/** What the provider says became of one created record, as a manifest's readback.result gives it. */
export interface ReadbackRow {
  externalId: string;
  converted: boolean;
  opportunityId: string | null;
  stage: string | null;
  amount: number | null;
  currency: string | null;
  won: boolean;
  closed: boolean;
  convertedAt: Date | null;
}

export interface ReadbackOptions {
  transport: Transport;
  /** New credentials after the API refused the token (once per read). */
  refreshCredentials?: () => Promise<Record<string, unknown>>;
}

/** How a read of one batch ended: the rows, or why it stopped (retry: try again on a later run; broken: the link is dead). */
export type ReadbackOutcome =
  | { kind: 'read'; rows: ReadbackRow[]; requests: number }
  | { kind: 'stopped'; reason: string; verdict: 'retry' | 'fail' | 'broken'; requests: number };

/**
 * Reads back one batch of records a connection created: the manifest's readback requests in
 * order (input {ids}, earlier answers as $steps.<action>.body), then its result expression.
 * The connector's error rules judge each answer; a token the API refuses is refreshed once.
 */
export async function readBack(connector: LoadedConnector, readback: CompiledReadback, ctx: ConnectionContext, ids: string[], options: ReadbackOptions): Promise<ReadbackOutcome> {
  const masker = secretMasker(ctx);
  const input = { ids };
  const steps: Record<string, { status: number | null; body: unknown; id: null }> = {};
  const bindings: Record<string, unknown> = { event: null, config: ctx.config, credentials: ctx.credentials, connection: { ...ctx.metadata, id: ctx.connectionId }, routing: null, ids, steps };
  let requests = 0;
  let refreshed = false;
  try {
    for (const step of readback.requests) {
      if (step.when && (await evaluateIn(connector, `readback ${step.action}, when`, step.when, input, bindings)) !== true) continue;
      const action = connector.actions.get(step.action);
      if (!action) return { kind: 'stopped', reason: `readback: action "${step.action}" is not declared`, verdict: 'fail', requests };
      for (;;) {
        const request = await renderRequest({ connector, ctx, webhookId: `readback_${ctx.connectionId}` }, action, input, bindings);
        const http = await options.transport.send(step.action, request);
        requests++;
        const body = parseBody(http);
        const verdict = await judgeResponse(connector.errors, http, body);
        if (verdict.kind === 'refresh' && options.refreshCredentials && !refreshed) {
          refreshed = true;
          ctx.credentials = await options.refreshCredentials();
          bindings['credentials'] = ctx.credentials;
          continue;
        }
        if (verdict.kind !== 'success') {
          return { kind: 'stopped', reason: masker(`${step.action}: ${verdict.reason}`), verdict: verdict.kind === 'refresh' ? 'fail' : verdict.kind, requests };
        }
        steps[step.action] = { status: http.status, body, id: null };
        break;
      }
    }
    if (!readback.result) return { kind: 'stopped', reason: 'readback.result did not compile', verdict: 'fail', requests };
    const result = await evaluateIn(connector, 'readback.result', readback.result, input, bindings);
    return { kind: 'read', rows: rowsOf(result, new Set(ids)), requests };
  } catch (err) {
    // The lost grant is the caller's to handle (it marks the connection); anything else ends this read.
    if (err instanceof HubError && err.code === 'connection_needs_reauth') throw err;
    return { kind: 'stopped', reason: masker(errorMessage(err)), verdict: 'fail', requests };
  }
}

/** The result's rows about the ids asked for, with their fields' types made sure; anything else is left out. */
export function rowsOf(result: unknown, asked: ReadonlySet<string>): ReadbackRow[] {
  const list = result === undefined || result === null ? [] : Array.isArray(result) ? (result as unknown[]) : [result];
  const rows: ReadbackRow[] = [];
  for (const item of list) {
    if (item === null || typeof item !== 'object') continue;
    const r = item as Record<string, unknown>;
    const externalId = r['externalId'] === undefined || r['externalId'] === null ? null : String(r['externalId']);
    if (externalId === null || !asked.has(externalId)) continue;
    const amount = typeof r['amount'] === 'number' ? r['amount'] : typeof r['amount'] === 'string' && r['amount'].trim() !== '' ? Number(r['amount']) : null;
    const convertedAt = typeof r['convertedAt'] === 'string' || typeof r['convertedAt'] === 'number' ? new Date(r['convertedAt']) : null;
    rows.push({
      externalId,
      converted: r['converted'] === true,
      opportunityId: text(r['opportunityId']),
      stage: text(r['stage']),
      amount: amount !== null && Number.isFinite(amount) ? amount : null,
      currency: text(r['currency']),
      won: r['won'] === true,
      closed: r['closed'] === true,
      convertedAt: convertedAt && !Number.isNaN(convertedAt.getTime()) ? convertedAt : null,
    });
  }
  return rows;
}

function text(value: unknown): string | null {
  return value === undefined || value === null || value === '' ? null : String(value);
}
