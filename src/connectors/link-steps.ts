import type { CompiledExpression } from '../core/jsonata';
import type { CompiledLinkStep, LoadedConnector } from './compiled-connector';
import type { ConnectorManifest } from './manifest';
import { renderRequest } from './request-renderer';
import { judgeResponse, parseBody } from './response-rules';
import type { ConnectionContext, Transport } from './run-types';
import { secretMasker } from './secret-masker';

/** The manifest's link steps compiled: each names a declared action of an OAuth connector; problems go to `fail`. */
export function compileLinkSteps(
  m: ConnectorManifest,
  expression: (pointer: string, source: string) => CompiledExpression | null,
  fail: (pointer: string, message: string) => void,
): CompiledLinkStep[] {
  if (m.link_steps && m.auth.type !== 'oauth2') fail('/link_steps', `run after an OAuth code exchange, but auth is ${m.auth.type}; remove them or use oauth2`);
  return (m.link_steps ?? []).map((step, i) => {
    const where = `/link_steps/${i}`;
    if (!Object.hasOwn(m.actions, step.action)) fail(`${where}/action`, `names action "${step.action}", which is not declared under actions (declared: ${Object.keys(m.actions).join(', ')})`);
    const keep: Array<[string, CompiledExpression]> = [];
    for (const [name, source] of Object.entries(step.keep ?? {})) {
      if (name === 'id' || name === 'provider_account') fail(`${where}/keep/${name}`, `"${name}" is taken: $connection.id is the connection's id and provider_account the linked account; choose another name`);
      const compiled = expression(`${where}/keep/${name}`, source);
      if (compiled) keep.push([name, compiled]);
    }
    const optional = (key: 'error' | 'credentials'): CompiledExpression | null => (step[key] === undefined ? null : expression(`${where}/${key}`, step[key]));
    return { action: step.action, error: optional('error'), credentials: optional('credentials'), keep };
  });
}

/** The hub's OAuth app at the provider, as the steps' requests see it ($app). */
export interface LinkApp {
  client_id: string;
  client_secret: string;
}

/** What the steps made of a token response: the token the link stores, and the values kept as $connection.<name>. */
export interface LinkedToken {
  token: Record<string, unknown>;
  kept: Record<string, string | number | boolean>;
}

/**
 * A step could not finish the link: its request failed (`refused` false), or its `error` expression
 * said why the account cannot be linked as it is (`refused` true, e.g. several Pages and no page_id).
 * The message names no secret.
 */
export class LinkStepError extends Error {
  constructor(
    readonly step: string,
    message: string,
    readonly refused: boolean,
  ) {
    super(message);
    this.name = 'LinkStepError';
  }
}

/**
 * Runs the manifest's link_steps on a token response fresh from the code exchange, in order,
 * before the connection is stored: each step's action is sent with the token so far as its
 * credentials (and $app, the hub's client id and secret), and its answer may replace fields of
 * the token (a long-lived token for a short-lived one, a Page's token chosen from a listing) and
 * keep values with the link. Nothing is stored when a step fails: the error says why.
 */
export async function runLinkSteps(
  connector: LoadedConnector,
  input: { config: Record<string, unknown>; token: Record<string, unknown>; app: LinkApp; baseUrl?: string | null },
  transport: Transport,
): Promise<LinkedToken> {
  let token = { ...input.token };
  const kept: LinkedToken['kept'] = {};
  // Every token seen, and the app's secret, stay out of whatever a failure says.
  const seen: unknown[] = [input.app.client_secret];
  for (const step of connector.linkSteps) {
    const action = connector.actions.get(step.action);
    if (!action) throw new LinkStepError(step.action, `action ${step.action} is not declared`, false);
    seen.push(token['access_token']);
    const masker = secretMasker({ credentials: { seen } });
    const ctx: ConnectionContext = { connectionId: 'linking', config: input.config, credentials: token, metadata: kept, ...(input.baseUrl ? { baseUrl: input.baseUrl } : {}) };
    const bindings = { event: null, config: input.config, credentials: token, connection: { ...kept, id: null }, steps: {}, app: input.app };
    let body: unknown;
    let answer: Record<string, unknown>;
    try {
      const http = await transport.send(step.action, await renderRequest({ connector, ctx, webhookId: `link_${step.action}` }, action, {}, bindings));
      body = parseBody(http);
      if (http.status === null || http.status < 200 || http.status >= 300) {
        const verdict = await judgeResponse(connector.errors, http, body);
        throw new LinkStepError(step.action, masker(verdict.kind === 'success' ? `the API answered ${http.status}` : verdict.reason), false);
      }
      answer = { status: http.status, headers: http.headers, config: input.config, credentials: token, connection: kept };
    } catch (err) {
      if (err instanceof LinkStepError) throw err;
      throw new LinkStepError(step.action, masker((err as Error).message), false);
    }
    const refusal: unknown = step.error ? await step.error.evaluate(body, answer) : undefined;
    if (typeof refusal === 'string' && refusal.trim() !== '') throw new LinkStepError(step.action, masker(refusal.replace(/\s+/g, ' ').trim()), true);
    if (step.credentials) token = replaced(token, await step.credentials.evaluate(body, answer), step.action);
    for (const [name, expression] of step.keep) {
      const value: unknown = await expression.evaluate(body, answer);
      if ((typeof value === 'string' && value !== '') || typeof value === 'boolean' || (typeof value === 'number' && Number.isFinite(value))) kept[name] = value;
    }
  }
  return { token, kept };
}

/** The token with a step's fields put over it; a null field is removed (e.g. expires_in of a token that does not expire). */
function replaced(token: Record<string, unknown>, value: unknown, step: string): Record<string, unknown> {
  if (value === undefined) return token;
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new LinkStepError(step, 'its credentials expression must yield an object of token fields', false);
  const out = { ...token };
  for (const [key, field] of Object.entries(value as Record<string, unknown>)) {
    if (field === null) delete out[key];
    else out[key] = field;
  }
  if (typeof out['access_token'] !== 'string' || out['access_token'] === '') throw new LinkStepError(step, 'its answer gave no access_token', false);
  return out;
}
