import { EventValidator } from '../events/validator';
import type { ValidationProblem } from '../events/validator';
import type { LoadedConnector } from '../connectors/loader';
import { settingsProblems } from '../connectors/settings-check';

/**
 * What `hookhub connectors map` checks before it runs a mapping, so that a wrong
 * input is reported as such instead of as a mapping that produced an odd URL.
 */

/** A credential a link must carry, and what it is for. */
export interface NeededCredential {
  name: string;
  purpose: string;
}

/**
 * The credentials a link of this connector carries. Mirrors what linking asks for;
 * for OAuth links the token response's access token and the values the manifest
 * keeps from it (requests read those as `$connection.<name>`).
 */
export function neededCredentials(connector: LoadedConnector): NeededCredential[] {
  const auth = connector.manifest.auth;
  switch (auth.type) {
    case 'api_key':
      return [{ name: 'api_key', purpose: `sent in the ${auth.in} ${auth.name}` }];
    case 'basic':
      return [
        { name: 'username', purpose: 'HTTP basic auth user' },
        { name: 'password', purpose: 'HTTP basic auth password' },
      ];
    case 'webhook_url':
      return [{ name: 'webhook_url', purpose: `the ${connector.manifest.title} webhook URL requests are sent to` }];
    case 'oauth2':
      return [
        { name: 'access_token', purpose: 'the OAuth access token' },
        ...(auth.keep ?? []).map((name) => ({ name, purpose: `kept from the token response; requests use it as $connection.${name}` })),
      ];
    case 'none':
      return [];
  }
}

export function missingCredentials(connector: LoadedConnector, credentials: Record<string, unknown>): NeededCredential[] {
  return neededCredentials(connector).filter(({ name }) => typeof credentials[name] !== 'string' || credentials[name] === '');
}

/** Values an OAuth link keeps from its token response, which the hub hands to requests as `$connection`. */
export function keptValues(connector: LoadedConnector, credentials: Record<string, unknown>): Record<string, unknown> {
  const auth = connector.manifest.auth;
  if (auth.type !== 'oauth2') return {};
  return Object.fromEntries((auth.keep ?? []).filter((name) => credentials[name] !== undefined).map((name) => [name, credentials[name]]));
}

/** Every `$connection` value a live link of this connector would hold: kept from the token response, the "who am I" answer and the link steps. */
export function connectionNames(connector: LoadedConnector): string[] {
  const { auth, account, link_steps: steps } = connector.manifest;
  const names = [...(auth.type === 'oauth2' ? (auth.keep ?? []) : []), ...Object.keys(account?.keep ?? {}), ...(steps ?? []).flatMap((step) => Object.keys(step.keep ?? {}))];
  return [...new Set(names)];
}

/**
 * What stands in for a value only a live link has, in a preview; plainly not a real value. Names of
 * addresses (webhook_url, instance_url, api_domain, api_endpoint) get a URL under the reserved
 * .invalid domain, so that the requests built on them can still be shown.
 */
export function placeholder(name: string): string {
  const marked = `placeholder-${name.toLowerCase().replace(/[^a-z0-9]+/g, '-')}`;
  return /url|domain|endpoint|host/i.test(name) ? `https://${marked}.invalid` : marked.toUpperCase();
}

/**
 * Fills each credential and connection value the preview was not given with a marked placeholder,
 * so any connector can be previewed without a live link; says which were filled.
 */
export function withPlaceholders(
  connector: LoadedConnector,
  credentials: Record<string, unknown>,
  connection: Record<string, unknown>,
): { credentials: Record<string, unknown>; connection: Record<string, unknown>; placeholders: { credentials: string[]; connection: string[] } } {
  // A kept value given as a connection value needs no credential placeholder.
  const missing = missingCredentials(connector, credentials)
    .map((c) => c.name)
    .filter((name) => connection[name] === undefined || connection[name] === '');
  const absent = connectionNames(connector).filter((name) => connection[name] === undefined || connection[name] === '');
  return {
    credentials: { ...credentials, ...Object.fromEntries(missing.map((name) => [name, placeholder(name)])) },
    connection: { ...connection, ...Object.fromEntries(absent.map((name) => [name, placeholder(name)])) },
    placeholders: { credentials: missing, connection: absent },
  };
}

/** The event's problems against its type's schema: the hub refuses such an event, so no connector ever sees it. */
export function eventProblems(type: string, data: unknown): ValidationProblem[] {
  return new EventValidator().checkData(type, data);
}

/** The link settings' problems against the connector's settings schema, as linking reports them. */
export function configProblems(connector: LoadedConnector, config: Record<string, unknown>): ValidationProblem[] {
  return settingsProblems(connector, config);
}
