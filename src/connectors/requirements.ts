import { errorMessage } from '../core/errors';
import type { LoadedConnector } from './compiled-connector';
import { renderRequest } from './request-renderer';
import { parseBody } from './response-rules';
import type { ConnectionContext, Transport } from './run-types';
import { secretMasker } from './secret-masker';

/** One thing the linked account lacks, and what the customer does about it. */
export interface MissingRequirement {
  /** `scopes`, or the name of the manifest's check. */
  name: string;
  message: string;
}

/** What the last requirements check found; kept on the connection. */
export interface RequirementsState {
  checkedAt: string;
  missing: MissingRequirement[];
  /** Checks that could not run (the API unreachable, a server error): unknown, not missing. */
  unchecked: MissingRequirement[];
}

/** The longest text a `missing` message takes from one placeholder. */
const VALUE_LIMIT = 300;

/**
 * Checks a link against its connector's `requirements`: the scopes its token was granted, then
 * each check's request judged by its `ok` expression. Null when the connector declares none.
 */
export async function checkRequirements(connector: LoadedConnector, ctx: ConnectionContext, transport: Transport, now = new Date()): Promise<RequirementsState | null> {
  const spec = connector.requirements;
  if (!spec) return null;
  const state: RequirementsState = { checkedAt: now.toISOString(), missing: [], unchecked: [] };
  const lacking = missingScopes(spec.scopes, ctx.credentials['scope']);
  if (lacking.length > 0) {
    state.missing.push({
      name: 'scopes',
      message: `The linked account did not grant ${lacking.join(', ')}. Link the account again (POST /v1/connections/authorize with "connectionId") and grant every permission the app asks for.`,
    });
  }
  const masker = secretMasker(ctx);
  const bindings = { event: null, config: ctx.config, credentials: ctx.credentials, connection: { ...ctx.metadata, id: ctx.connectionId }, steps: {} };
  for (const check of spec.checks) {
    const action = connector.actions.get(check.action);
    if (!action || !check.ok) continue;
    try {
      if (check.when && (await check.when.evaluate({}, { config: ctx.config })) !== true) continue;
      const request = await renderRequest({ connector, ctx, webhookId: `requirements_${ctx.connectionId}` }, action, check.input, bindings);
      const http = await transport.send(check.action, request);
      // No answer, a server error, a refused token or a rate limit say nothing about the account.
      if (http.status === null || http.status >= 500 || http.status === 401 || http.status === 429) {
        state.unchecked.push({ name: check.name, message: masker(`could not be checked: ${http.error ?? `the API answered ${http.status}`}; it is checked again on POST /v1/connections/:id/check`) });
        continue;
      }
      const body = parseBody(http);
      const answer = { status: http.status, headers: http.headers, config: ctx.config };
      const ok = await check.ok.evaluate(body, answer).catch(() => false);
      if (ok === true) continue;
      const message = await check.missing.render(body, { ...answer, body }, VALUE_LIMIT).catch(() => check.missing.source);
      state.missing.push({ name: check.name, message: masker(message.replace(/\s+/g, ' ').trim()) });
    } catch (err) {
      state.unchecked.push({ name: check.name, message: masker(`could not be checked: ${errorMessage(err)}`) });
    }
  }
  return state;
}

/**
 * The required scopes the grant lacks. The token response's `scope` is space-separated (RFC 6749
 * §3.3; some providers use commas); a link whose provider named no scopes is not judged.
 */
export function missingScopes(required: string[], granted: unknown): string[] {
  if (typeof granted !== 'string' || granted.trim() === '') return [];
  const have = new Set(granted.split(/[\s,]+/));
  return required.filter((s) => !have.has(s));
}

/** What the provider's "who am I" answer says: the linked account, and the values `keep` names. */
export interface AccountAnswer {
  account: { id: string | null; name: string | null } | null;
  /** The manifest's account.keep values found in the answer (strings, numbers, booleans), by name. */
  kept: Record<string, string | number | boolean>;
}

/**
 * The linked account as the provider's own "who am I" answer names it (the manifest's `account`),
 * and the values its `keep` names: null when the connector declares none. `url` replaces the
 * request's URL (HOOKHUB_<NAME>_ACCOUNT_URL, a test server). Throws when the request fails.
 */
export async function lookUpAccount(connector: LoadedConnector, ctx: ConnectionContext, transport: Transport, url: string | null = null): Promise<AccountAnswer | null> {
  const spec = connector.account;
  const action = spec ? connector.actions.get(spec.action) : undefined;
  if (!spec || !action) return null;
  const bindings = { event: null, config: ctx.config, credentials: ctx.credentials, connection: { ...ctx.metadata, id: ctx.connectionId }, steps: {} };
  const rendered = await renderRequest({ connector, ctx, webhookId: `account_${ctx.connectionId}` }, action, {}, bindings);
  const request = url ? { ...rendered, url } : rendered;
  const http = await transport.send(spec.action, request);
  if (http.status === null || http.status < 200 || http.status >= 300) throw new Error(http.error ?? `the API answered ${http.status}`);
  const body = parseBody(http);
  const answer = { status: http.status, headers: http.headers };
  const read = async (expression: typeof spec.id): Promise<string | null> => {
    const value: unknown = expression ? await expression.evaluate(body, answer) : undefined;
    if (typeof value === 'number' && Number.isFinite(value)) return String(value);
    return typeof value === 'string' && value !== '' ? value.slice(0, 200) : null;
  };
  const id = await read(spec.id);
  const name = await read(spec.name);
  const kept: AccountAnswer['kept'] = {};
  for (const [key, expression] of spec.keep) {
    const value: unknown = await expression.evaluate(body, answer);
    if ((typeof value === 'string' && value !== '') || typeof value === 'boolean' || (typeof value === 'number' && Number.isFinite(value))) kept[key] = value;
  }
  return { account: id === null && name === null ? null : { id, name }, kept };
}
