import { errorMessage, HubError, UnrecoverableError } from '../core/errors';
import type { CompiledExpression } from '../core/jsonata';
import type { LoadedConnector } from './compiled-connector';

/** A connector's expression or template that failed, as the error that fails the delivery, naming where. */
export function connectorFailure(connector: LoadedConnector, where: string, err: unknown): UnrecoverableError {
  const code = err instanceof HubError ? err.code : 'connector_mapping_failed';
  return new UnrecoverableError(code, `connector ${connector.manifest.name}, ${where}: ${errorMessage(err)}`, { cause: err });
}

/** Evaluates one of a connector's expressions; a failure names the connector and the place. */
export async function evaluateIn(connector: LoadedConnector, where: string, expression: CompiledExpression, input: unknown, bindings: Record<string, unknown>): Promise<unknown> {
  try {
    return await expression.evaluate(input, bindings);
  } catch (err) {
    throw connectorFailure(connector, where, err);
  }
}
