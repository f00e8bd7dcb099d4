import type { ErrorObject, ValidateFunction } from 'ajv';
import { invalid, ValidationError } from '../core/errors';
import type { ValidationProblem } from '../core/errors';
import { createAjv, describeErrors } from '../events/validator';

/** POST /v1/connections, as its schema guarantees it. */
export interface ConnectionCreateInput {
  connector: string;
  config?: Record<string, unknown>;
  credentials?: Record<string, unknown>;
  description?: string | null;
}

/** PATCH /v1/connections/:id, as its schema guarantees it. */
export interface ConnectionUpdateInput {
  config?: Record<string, unknown>;
  credentials?: Record<string, unknown>;
  description?: string | null;
  upgrade?: boolean;
}

/** POST /v1/connections/authorize, as its schema guarantees it. */
export interface AuthorizeInput {
  connector: string;
  config?: Record<string, unknown>;
  redirectAfter?: string | null;
  connectionId?: string;
  description?: string | null;
}

const object = { type: 'object' };
const description = { type: ['string', 'null'] };

const ajv = createAjv();
const validateCreate = ajv.compile<ConnectionCreateInput>({
  type: 'object',
  additionalProperties: false,
  required: ['connector'],
  properties: { connector: { type: 'string', minLength: 1 }, config: object, credentials: object, description },
});
const validateUpdate = ajv.compile<ConnectionUpdateInput>({
  type: 'object',
  additionalProperties: false,
  properties: { config: object, credentials: object, description, upgrade: { type: 'boolean' } },
});
const authorizeProperties = { connector: { type: 'string' }, config: object, redirectAfter: { type: ['string', 'null'] }, connectionId: { type: 'string' }, description };
const validateAuthorize = ajv.compile<AuthorizeInput>({ type: 'object', additionalProperties: false, required: ['connector'], properties: authorizeProperties });

/** The body of a new connection, or a 400 naming each problem. */
export function connectionCreateInput(input: Record<string, unknown>): ConnectionCreateInput {
  if (validateCreate(input)) return input;
  throw invalid(connectionProblems(validateCreate), 'connection');
}

/** The body of a connection change, or a 400 naming each problem. */
export function connectionUpdateInput(input: Record<string, unknown>): ConnectionUpdateInput {
  if (validateUpdate(input)) return input;
  throw invalid(connectionProblems(validateUpdate), 'connection');
}

/** The body of an authorization, or a 400 that says what is wrong first. */
export function authorizeInput(input: Record<string, unknown>, redirectMessage: string): AuthorizeInput {
  if (validateAuthorize(input)) return input;
  const errors = validateAuthorize.errors ?? [];
  const allowed = Object.keys(authorizeProperties);
  const extra = errors.filter((e) => e.keyword === 'additionalProperties').map((e) => String(e.params['additionalProperty']));
  if (extra.length > 0) throw new ValidationError(`Unknown field ${extra[0] ?? ''}; allowed: ${allowed.join(', ')}.`, extra.map((k) => ({ path: `/${k}`, message: 'is not an allowed property' })));
  const at = (path: string): boolean => describeErrors(errors).some((p) => p.path === path);
  if (at('/connector')) throw new ValidationError('connector must name an installed connector; see GET /v1/connectors.', [{ path: '/connector', message: 'unknown connector' }]);
  if (at('/config')) throw invalid([{ path: '/config', message: 'must be an object' }], 'connection');
  if (at('/redirectAfter')) throw new ValidationError(redirectMessage, [{ path: '/redirectAfter', message: 'not a URL' }]);
  throw invalid(describeErrors(errors), 'authorization');
}

/** The schema's findings in the words the connection API has always used. */
function connectionProblems(validate: ValidateFunction): ValidationProblem[] {
  const allowed = Object.keys((validate.schema as { properties: object }).properties);
  const problems = (validate.errors ?? []).map((error: ErrorObject): ValidationProblem => {
    const [problem] = describeErrors([error]);
    const path = problem?.path ?? '/';
    if (error.keyword === 'additionalProperties') return { path, message: `is not an allowed property (allowed: ${allowed.join(', ')})` };
    if (path === '/connector') return { path, message: 'is required: the name of a connector, see GET /v1/connectors' };
    if (path === '/config' || path === '/credentials') return { path, message: 'must be an object' };
    return { path, message: problem?.message ?? 'is invalid' };
  });
  // Which connector comes first: the other checks depend on it.
  return [...problems.filter((p) => p.path === '/connector'), ...problems.filter((p) => p.path !== '/connector')];
}
