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

export class ValidationError extends HubError {
  constructor(message: string, details?: unknown) {
    super('validation_failed', message, { status: 400, details });
    this.name = 'ValidationError';
  }
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
