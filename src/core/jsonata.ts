import jsonata from 'jsonata';
import { HubError, UnrecoverableError } from './errors';

export interface CompiledExpression {
  readonly source: string;
  evaluate(input: unknown, bindings?: Record<string, unknown>): Promise<unknown>;
}

export interface JsonataLimitsOptions {
  /** Wall-clock limit of one evaluation. */
  timeoutMs: number;
  /** Maximum evaluation depth (guards runaway recursion). */
  maxDepth: number;
  /** Maximum length of one generated sequence (guards `[1..1e9]`). */
  maxSequence: number;
}

export const DEFAULT_JSONATA_LIMITS: JsonataLimitsOptions = { timeoutMs: 1000, maxDepth: 500, maxSequence: 100_000 };

/** Compiles once; a syntax error becomes a 400 HubError with its position. */
export function compileJsonata(source: string, limits: JsonataLimitsOptions = DEFAULT_JSONATA_LIMITS): CompiledExpression {
  let expression: jsonata.Expression;
  try {
    expression = jsonata(source, {
      timeout: limits.timeoutMs,
      stack: limits.maxDepth,
      sequence: limits.maxSequence,
    });
  } catch (cause) {
    const err = cause as { message?: string; position?: number; token?: string };
    throw new HubError('jsonata_syntax_error', `JSONata does not compile: ${err.message ?? String(cause)}`, {
      status: 400,
      details: { position: err.position, token: err.token },
      cause,
    });
  }
  return {
    source,
    async evaluate(input, bindings) {
      try {
        return await expression.evaluate(input, bindings);
      } catch (cause) {
        const err = cause as { message?: string; code?: string; position?: number };
        throw new UnrecoverableError('jsonata_evaluation_failed', `JSONata evaluation failed: ${err.message ?? String(cause)}`, {
          details: { code: err.code, position: err.position },
          cause,
        });
      }
    },
  };
}
