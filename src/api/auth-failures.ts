import type { RequestHandler } from 'express';
import { ipKeyGenerator, rateLimit } from 'express-rate-limit';
import type { Logger } from '../core/logger';
import { errorBody } from './errors';

const WINDOW_MS = 60_000;

/**
 * Failed sign-ins per client address: after `perMinute` answers of 401 (an unknown or revoked API key,
 * a missing key, an expired console session) from one address within a minute, every /v1 request from
 * it is refused with 429 until the minute is over, before any key is looked up. Guessing keys, or
 * flooding the key lookup with invented ones, stops there; a client with a valid key never counts.
 * The address is the connection's, or the client's as HOOKHUB_TRUST_PROXY lets the proxies in front
 * say it: behind a balancer without that setting every client shares the balancer's address.
 */
export function authFailureLimit(options: { perMinute: number; logger: Logger }): RequestHandler {
  const { perMinute, logger } = options;
  const warned = new Map<string, number>();
  return rateLimit({
    windowMs: WINDOW_MS,
    limit: perMinute,
    // Only failed authentications count; any other answer is taken back once sent.
    skipSuccessfulRequests: true,
    requestWasSuccessful: (_req, res) => res.statusCode !== 401,
    // The per-key RateLimit headers of authenticated requests are the ones a client reads.
    standardHeaders: false,
    legacyHeaders: false,
    keyGenerator: (req) => ipKeyGenerator(req.ip ?? req.socket.remoteAddress ?? 'unknown'),
    handler: (req, res) => {
      const resetAt = (req as { rateLimit?: { resetTime?: Date } }).rateLimit?.resetTime?.getTime() ?? Date.now() + WINDOW_MS;
      const retryAfterSeconds = Math.max(1, Math.ceil((resetAt - Date.now()) / 1000));
      const address = req.ip ?? 'unknown';
      if (warned.get(address) !== resetAt) {
        if (warned.size > 10_000) warned.clear();
        warned.set(address, resetAt);
        logger.warn({ ip: address, limit: perMinute }, 'too many failed authentications from one address: its requests are refused until the minute is over');
      }
      res.setHeader('Retry-After', String(retryAfterSeconds));
      res
        .status(429)
        .json(
          errorBody(
            'too_many_failed_authentications',
            `More than ${perMinute} requests from this address failed authentication in the last minute, so its requests are refused for ${retryAfterSeconds} s (Retry-After). Check the API key (a revoked or mistyped key fails every time), then try again.`,
            { retryAfterSeconds, limit: perMinute, windowSeconds: WINDOW_MS / 1000 },
          ),
        );
    },
  });
}
