/**
 * HubError is the one error type that crosses layers. `code` is a stable
 * snake_case identifier clients can branch on; `status` is the HTTP status the
 * API answers with; `details` says what exactly was wrong.
 */
export class HubError extends Error {
  readonly code: string;
  readonly status: number;
  readonly details: unknown;

  constructor(code: string, message: string, options: HubErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'HubError';
    this.code = code;
    this.status = options.status ?? 500;
    this.details = options.details;
  }
}

export interface HubErrorOptions {
  status?: number;
  details?: unknown;
  cause?: unknown;
}

/** One thing wrong with an input: a JSON pointer to it and what is wrong there. */
export interface ValidationProblem {
  path: string;
  message: string;
}

export class ValidationError extends HubError {
  constructor(message: string, details?: unknown) {
    super('validation_failed', message, { status: 400, details });
    this.name = 'ValidationError';
  }
}

/** The 400 for an input with these problems: the first one in the message, all of them in `details`. */
export function invalid(problems: ValidationProblem[], what: string): ValidationError {
  const first = problems[0];
  const summary = first ? `${first.path} ${first.message}` : 'the request is invalid';
  return new ValidationError(`Invalid ${what}: ${summary}${problems.length > 1 ? ` (and ${problems.length - 1} more)` : ''}.`, problems);
}

export class NotFoundError extends HubError {
  constructor(resource: string, id: string) {
    super(`${resource}_not_found`, `No ${resource.replace(/_/g, ' ')} with id "${id}" exists for this tenant.`, {
      status: 404,
    });
    this.name = 'NotFoundError';
  }
}

/** A failure that retrying cannot fix (bad mapping, rejected payload): dead-letter at once. */
export class UnrecoverableError extends HubError {
  constructor(code: string, message: string, options: HubErrorOptions = {}) {
    super(code, message, options);
    this.name = 'UnrecoverableError';
  }
}

export function errorMessage(err: unknown): string {
  if (err instanceof Error) {
    const cause = (err as { cause?: unknown }).cause;
    return cause instanceof Error && !err.message.includes(cause.message)
      ? `${err.message}: ${cause.message}`
      : err.message;
  }
  return String(err);
}
