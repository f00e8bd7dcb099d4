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

/** The event's problems against its type's schema: the hub refuses such an event, so no connector ever sees it. */
export function eventProblems(type: string, data: unknown): ValidationProblem[] {
  return new EventValidator().checkData(type, data);
}

/** The link settings' problems against the connector's settings schema, as linking reports them. */
export function configProblems(connector: LoadedConnector, config: Record<string, unknown>): ValidationProblem[] {
  return settingsProblems(connector, config);
}
