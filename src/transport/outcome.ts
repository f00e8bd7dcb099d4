import type { HttpResult } from './http-sender';
import { headerDelayMs } from './retry-policy';

export type Outcome =
  | { kind: 'success' }
  | { kind: 'retry'; retryAfterMs: number | null }
  | { kind: 'gone' }
  | { kind: 'permanent'; reason: string };

/**
 * What an HTTP result means for the delivery. 2xx succeeds; 410 means the
 * receiver is gone for good; an address the guard refuses will not change by
 * retrying; everything else (3xx, 4xx, 5xx, timeouts, network errors) is retried,
 * with 429 and 503 telling us when.
 */
export function classify(result: HttpResult): Outcome {
  if (result.status === null) {
    if (result.errorCode === 'endpoint_address_blocked' || result.errorCode === 'endpoint_address_not_allowed') {
      return { kind: 'permanent', reason: result.error ?? 'address refused' };
    }
    return { kind: 'retry', retryAfterMs: null };
  }
  if (result.status >= 200 && result.status < 300) return { kind: 'success' };
  if (result.status === 410) return { kind: 'gone' };
  if (result.status === 429 || result.status === 503) {
    return { kind: 'retry', retryAfterMs: headerDelayMs(result.headers['retry-after']) };
  }
  return { kind: 'retry', retryAfterMs: null };
}
