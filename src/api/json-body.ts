import express from 'express';
import type { Request, RequestHandler, Router } from 'express';
import { HubError } from '../core/errors';
import { MAX_JSON_DEPTH, exceedsDepth } from '../core/json-depth';

/** The media types the API reads as JSON (application/merge-patch+json and the like included). */
export const JSON_TYPES = ['application/json', 'application/*+json'];


/** The methods whose routes may take a body; on the others (GET, DELETE) a body is neither read nor checked. */
const BODY_METHODS = new Set(['POST', 'PUT', 'PATCH']);

/**
 * The request body stages of every route that takes one: a body in another
 * media type is refused (415) instead of being ignored, JSON is parsed, and a
 * body nested deeper than MAX_JSON_DEPTH is refused (422) before any route reads it.
 */
export function jsonBody(options: { maxBytes: number }): Router {
  const router = express.Router();
  // next('router') leaves this router: the stages run for body methods only.
  router.use((req, _res, next) => next(BODY_METHODS.has(req.method) ? undefined : 'router'), requireJsonBody, express.json({ limit: options.maxBytes, type: JSON_TYPES }), limitJsonDepth);
  return router;
}

/**
 * A body sent as text/plain or a form would be silently ignored by the parser (a
 * rotation with the default overlap instead of the one asked for, say), so it is
 * refused. An empty body passes whatever its type: routes without a body are
 * called with `curl -X POST`, `-d ''` or fetch without a body.
 */
const requireJsonBody: RequestHandler = (req, _res, next) => {
  if (!hasContent(req) || req.is(JSON_TYPES)) {
    next();
    return;
  }
  const received = req.headers['content-type'];
  throw new HubError(
    'unsupported_media_type',
    received === undefined
      ? 'The request has a body but no Content-Type. This API reads JSON only: send the body with Content-Type: application/json.'
      : `The request body is ${received}, which this API does not read. Send it as JSON with Content-Type: application/json.`,
    { status: 415, details: { contentType: received ?? null, accepted: ['application/json'] } },
  );
};

function hasContent(req: Request): boolean {
  if (req.headers['transfer-encoding'] !== undefined) return true;
  const length = Number(req.headers['content-length'] ?? 0);
  return !Number.isFinite(length) || length > 0;
}

const limitJsonDepth: RequestHandler = (req, _res, next) => {
  if (exceedsDepth(req.body, MAX_JSON_DEPTH)) {
    throw new HubError(
      'body_too_deep',
      `The request body nests objects and arrays more than ${MAX_JSON_DEPTH} levels deep; the limit is ${MAX_JSON_DEPTH}. Send flatter JSON.`,
      { status: 422, details: { maxDepth: MAX_JSON_DEPTH } },
    );
  }
  next();
};
