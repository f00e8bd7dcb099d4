import { ValidationError } from '../core/errors';
import type { PageRequest } from '../core/page';

type Query = Record<string, unknown>;

export function pageFrom(query: Query): PageRequest {
  const limitRaw = query['limit'];
  let limit = 50;
  if (limitRaw !== undefined) {
    limit = Number(limitRaw);
    if (!Number.isInteger(limit) || limit < 1 || limit > 250) {
      throw new ValidationError('limit must be a whole number from 1 to 250.', [{ path: 'query.limit', message: 'out of range' }]);
    }
  }
  const cursor = optionalString(query, 'cursor');
  return cursor === undefined ? { limit } : { limit, cursor };
}

export function optionalString(query: Query, name: string): string | undefined {
  const value = query[name];
  if (value === undefined || value === '') return undefined;
  if (typeof value !== 'string') throw new ValidationError(`${name} must be given once, as a string.`, [{ path: `query.${name}`, message: 'not a string' }]);
  return value;
}

export function dateParam(value: unknown, name: string): Date {
  const date = typeof value === 'string' ? new Date(value) : new Date(NaN);
  if (Number.isNaN(date.getTime())) {
    throw new ValidationError(`${name} must be an ISO 8601 date-time, e.g. 2026-01-31T12:00:00Z.`, [{ path: name, message: 'not a date-time' }]);
  }
  return date;
}

export function bodyObject(body: unknown): Record<string, unknown> {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new ValidationError('The request body must be a JSON object (Content-Type: application/json).', [{ path: '/', message: 'not an object' }]);
  }
  return body as Record<string, unknown>;
}
