import type { ValidationProblem } from '../core/errors';
import { describeErrors } from '../events/validator';
import type { LoadedConnector } from './compiled-connector';

/**
 * A link's settings against its connector's settings schema, as linking checks them; fixtures
 * and `hookhub connectors map` check theirs the same way, so they never run on settings the hub
 * would refuse.
 */
export function settingsProblems(connector: LoadedConnector, config: Record<string, unknown>): ValidationProblem[] {
  const validate = connector.configValidator;
  if (!validate) return Object.keys(config).length === 0 ? [] : [{ path: '/config', message: `connector ${connector.manifest.name} takes no settings` }];
  return validate(config) ? [] : describeErrors(validate.errors, '/config');
}
