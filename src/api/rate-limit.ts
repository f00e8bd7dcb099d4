import type { Request, RequestHandler } from 'express';
import { rateLimit } from 'express-rate-limit';
import type { RateLimitInfo } from 'express-rate-limit';
import type { Logger } from '../core/logger';
import type { ApiUsageEventType, OperationalEvents } from '../events/operational-events';
import { principalOf } from './auth';
import { errorBody } from './errors';

const WINDOW_MS = 60_000;
const WARN_AT_PERCENT = [80, 95] as const;

export interface ApiRateLimitOptions {
  /** Requests per minute per API key of this tenant (its plan's, or the hub's). */
  limitFor(tenantId: string): Promise<number>;
  /** Requests not counted here (publishing has its own limit). */
  skip?: (req: Request) => boolean;
  /** Publishes api.quota_warning and api.rate_limit_exceeded to the tenant. */
  operational: Pick<OperationalEvents, 'emit'>;
  logger: Logger;
}

interface WindowState {
  endsAt: number;
  warned: Set<number>;
  exceeded: boolean;
}

/**
 * Requests per minute per API key (after authentication), with the IETF
 * RateLimit headers (draft-8) and Retry-After. The limit is the tenant's plan's
 * (`api.management_per_minute`) or HOOKHUB_API_RATE_LIMIT. The counts live in this
 * process: with several API processes behind a balancer each allows the limit.
 *
 * The tenant hears about it through its own pipeline: api.quota_warning when a
 * key's window crosses 80% and 95% of the quota, api.rate_limit_exceeded on the
 * first refused request of a window (once, not per refusal: a client hammering
 * away must not turn every 429 into an event).
 *
 * The window is express-rate-limit's and runs on the real clock, so the
 * arithmetic on its reset time here does too.
 */
export function apiRateLimit(options: ApiRateLimitOptions): RequestHandler[] {
  const { limitFor, operational, logger } = options;
  const windows = new Map<string, WindowState>();

  const stateOf = (keyId: string, info: RateLimitInfo): WindowState => {
    const endsAt = info.resetTime?.getTime() ?? Date.now() + WINDOW_MS;
    let state = windows.get(keyId);
    if (!state || state.endsAt !== endsAt) {
      if (windows.size > 10_000) for (const [k, s] of windows) if (s.endsAt < Date.now()) windows.delete(k);
      state = { endsAt, warned: new Set(), exceeded: false };
      windows.set(keyId, state);
    }
    return state;
  };

  // Not awaited: the answer does not wait for the broker (emit only logs a failure).
  const emit = (tenantId: string, type: ApiUsageEventType, data: Record<string, unknown>): void => void operational.emit(tenantId, type, data);

  const limiter = rateLimit({
    windowMs: WINDOW_MS,
    limit: (_req, res) => limitFor(principalOf(res).tenantId),
    ...(options.skip ? { skip: options.skip } : {}),
    standardHeaders: 'draft-8',
    legacyHeaders: false,
    keyGenerator: (_req, res) => principalOf(res).keyId,
    handler: (req, res) => {
      const info = infoOf(req);
      const { tenantId, keyId } = principalOf(res);
      const limit = info?.limit ?? 0;
      const retryAfterSeconds = Math.max(1, Math.ceil(((info?.resetTime?.getTime() ?? Date.now() + WINDOW_MS) - Date.now()) / 1000));
      res.setHeader('Retry-After', String(retryAfterSeconds));
      if (info) {
        const state = stateOf(keyId, info);
        if (!state.exceeded) {
          state.exceeded = true;
          logger.warn({ tenantId, apiKeyId: keyId, limit }, 'API key over its rate limit');
          emit(tenantId, 'api.rate_limit_exceeded', {
            api_key_id: keyId,
            endpoint: `${req.method} ${req.baseUrl}${req.path}`.slice(0, 300),
            limit,
            window_seconds: WINDOW_MS / 1000,
            retry_after_seconds: retryAfterSeconds,
          });
        }
      }
      res
        .status(429)
        .json(
          errorBody('rate_limited', `This API key made more than ${limit} requests in a minute. Wait ${retryAfterSeconds} s (Retry-After) and spread requests out, or use another key.`, {
            retryAfterSeconds,
          }),
        );
    },
  });

  const quotaWarnings: RequestHandler = (req, res, next) => {
    const info = infoOf(req);
    if (info) {
      const { tenantId, keyId } = principalOf(res);
      for (const percent of WARN_AT_PERCENT) {
        if (info.used < Math.ceil((info.limit * percent) / 100)) continue;
        const state = stateOf(keyId, info);
        if (state.warned.has(percent)) continue;
        state.warned.add(percent);
        emit(tenantId, 'api.quota_warning', {
          quota_name: 'api_requests_per_minute',
          api_key_id: keyId,
          quota: info.limit,
          used: info.used,
          threshold_percent: percent,
          period_end: new Date(state.endsAt).toISOString(),
        });
      }
    }
    next();
  };
  return [limiter, quotaWarnings];
}

function infoOf(req: Request): RateLimitInfo | undefined {
  return (req as Request & { rateLimit?: RateLimitInfo }).rateLimit;
}
