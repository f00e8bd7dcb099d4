import type { ErrorRequestHandler, RequestHandler } from 'express';
import { HubError } from '../core/errors';
import type { Logger } from '../core/logger';

export function errorBody(code: string, message: string, details?: unknown): { error: Record<string, unknown> } {
  return { error: details === undefined ? { code, message } : { code, message, details } };
}

export const notFoundRoute: RequestHandler = (req, res) => {
  res.status(404).json(errorBody('route_not_found', `No route ${req.method} ${req.path}. See GET /openapi.json for the API.`));
};

/** Every error leaves as `{"error": {"code", "message", "details"?}}`. */
export function errorHandler(logger: Logger): ErrorRequestHandler {
  return (err: unknown, _req, res, _next) => {
    if (err instanceof HubError) {
      if (err.status >= 500) logger.error({ err }, err.message);
      res.status(err.status).json(errorBody(err.code, err.message, err.details));
      return;
    }
    const e = err as { type?: string; status?: number; message?: string; limit?: number };
    if (e.type === 'entity.parse.failed') {
      res.status(400).json(errorBody('invalid_json', `The request body is not valid JSON: ${e.message ?? ''}`));
      return;
    }
    if (e.type === 'entity.too.large') {
      res.status(413).json(errorBody('payload_too_large', `The request body exceeds the limit of ${e.limit ?? 0} bytes.`));
      return;
    }
    if (e.type === 'charset.unsupported' || e.type === 'encoding.unsupported') {
      // One code for every 415, whether the media type, its charset or the Content-Encoding is what the API does not read.
      res.status(415).json(errorBody('unsupported_media_type', `The request body cannot be read (${e.message ?? 'unsupported encoding'}). Send it as UTF-8 JSON with Content-Type: application/json, uncompressed or compressed with gzip, deflate or br.`));
      return;
    }
    if (typeof e.status === 'number' && e.status >= 400 && e.status < 500) {
      res.status(e.status).json(errorBody('bad_request', e.message ?? 'Bad request'));
      return;
    }
    logger.error({ err }, 'unhandled error in API request');
    res.status(500).json(errorBody('internal_error', 'Something went wrong on our side; the error was logged. Try again.'));
  };
}
