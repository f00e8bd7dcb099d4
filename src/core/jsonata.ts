import jsonata from 'jsonata';
import safeRegex from 'safe-regex2';
import { HubError } from './errors';
import { expressionSandbox } from './sandbox/expression-sandbox';

export interface CompiledExpression {
  readonly source: string;
  /**
   * Evaluates in the expression sandbox (a separate process with a heap ceiling
   * and a hard deadline). Rejects with an ExpressionLimitError when a limit
   * stopped it, an UnrecoverableError when JSONata failed on this input.
   */
  evaluate(input: unknown, bindings?: Record<string, unknown>): Promise<unknown>;
}

/**
 * Compiles once in the hub, which only parses: a syntax error or a regular
 * expression that can backtrack catastrophically becomes a 400 HubError that
 * says where. Evaluation, where an expression can do harm, runs in the sandbox.
 */
export function compileJsonata(source: string): CompiledExpression {
  let expression: jsonata.Expression;
  try {
    expression = jsonata(source);
  } catch (cause) {
    const err = cause as { message?: string; position?: number; token?: string };
    throw new HubError('jsonata_syntax_error', `JSONata does not compile: ${err.message ?? String(cause)}`, {
      status: 400,
      details: { position: err.position, token: err.token },
      cause,
    });
  }
  const unsafe = unsafeRegexes(expression.ast());
  if (unsafe.length > 0) {
    throw new HubError(
      'jsonata_unsafe_regex',
      `JSONata regular expression ${unsafe[0]} can take exponential time on some inputs (nested or overlapping repetition); ` +
        'rewrite it without a repeated group inside a repetition, e.g. /a+$/ instead of /(a+)+$/.',
      { status: 400, details: { regexes: unsafe } },
    );
  }
  return {
    source,
    evaluate: (input, bindings) => expressionSandbox().evaluate(source, input, bindings),
  };
}

/** The regular expression literals of an expression that safe-regex2 flags (star height above one). */
function unsafeRegexes(ast: unknown): string[] {
  const found: string[] = [];
  const seen = new Set<unknown>();
  const stack: unknown[] = [ast];
  while (stack.length > 0) {
    const node = stack.pop();
    if (node === null || typeof node !== 'object' || seen.has(node)) continue;
    seen.add(node);
    if (node instanceof RegExp) {
      if (!safeRegex(node)) found.push(String(node));
      continue;
    }
    for (const value of Object.values(node)) stack.push(value);
  }
  return found;
}
