import { errorMessage, HubError } from '../core/errors';
import { evaluateIn } from './connector-failure';
import type { LoadedConnector } from './compiled-connector';
import { renderRequest } from './request-renderer';
import { judgeResponse, parseBody } from './response-rules';
import type { ConnectionContext, Transport } from './run-types';
import { secretMasker } from './secret-masker';

/** Which of an interrupted page's events are in the account already, or why that could not be read. */
export type LandedOutcome = { kind: 'read'; ids: Set<string> } | { kind: 'stopped'; reason: string; verdict: 'retry' | 'fail' | 'broken' };

/**
 * The manifest's export.landed read for the ids of a page that was written ahead and not recorded
 * as sent: one request (input {ids}), judged by the connector's error rules, the token refreshed
 * once when the API asks; export.landed.ids over the answer names the ids found (others ignored).
 */
export async function landedIds(
  connector: LoadedConnector,
  ctx: ConnectionContext,
  ids: readonly string[],
  options: { transport: Transport; refreshCredentials?: () => Promise<Record<string, unknown>> },
): Promise<LandedOutcome> {
  const spec = connector.export;
  const action = spec ? connector.actions.get(spec.landed.action) : undefined;
  if (!spec || !action || !spec.landed.ids) return { kind: 'stopped', reason: `connector ${connector.manifest.name} declares no export.landed read`, verdict: 'fail' };
  const masker = secretMasker(ctx);
  const input = { ids: [...ids] };
  const bindings: Record<string, unknown> = { event: null, config: ctx.config, credentials: ctx.credentials, connection: { ...ctx.metadata, id: ctx.connectionId }, routing: null, ids: input.ids, steps: {} };
  try {
    for (let refreshed = false; ; refreshed = true) {
      const request = await renderRequest({ connector, ctx, webhookId: `export_${ctx.connectionId}` }, action, input, bindings);
      const http = await options.transport.send(action.name, request);
      const body = parseBody(http);
      const verdict = await judgeResponse(connector.errors, http, body);
      if (verdict.kind === 'refresh' && options.refreshCredentials && !refreshed) {
        ctx.credentials = await options.refreshCredentials();
        bindings['credentials'] = ctx.credentials;
        continue;
      }
      if (verdict.kind !== 'success') return { kind: 'stopped', reason: masker(`${action.name}: ${verdict.reason}`), verdict: verdict.kind === 'refresh' ? 'fail' : verdict.kind };
      const found = await evaluateIn(connector, 'export.landed.ids', spec.landed.ids, body, { ...bindings, status: http.status });
      const asked = new Set(ids);
      const list = Array.isArray(found) ? found : found === undefined || found === null ? [] : [found];
      return { kind: 'read', ids: new Set(list.map(String).filter((id) => asked.has(id))) };
    }
  } catch (err) {
    // The lost grant is the caller's to handle (it marks the connection); anything else ends this read.
    if (err instanceof HubError && err.code === 'connection_needs_reauth') throw err;
    return { kind: 'stopped', reason: masker(errorMessage(err)), verdict: 'fail' };
  }
}
