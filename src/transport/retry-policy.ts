/** How a subscription's failed deliveries are retried. */
export interface RetryConfig {
  maxRetries: number;
  initialDelaySeconds: number;
  backoffMultiplier: number;
  maxBackoffSeconds: number;
}

export const DEFAULT_RETRY_CONFIG: RetryConfig = Object.freeze({
  maxRetries: 8,
  initialDelaySeconds: 5,
  backoffMultiplier: 5,
  maxBackoffSeconds: 36_000,
});

/** ±20%: spreads retries of many deliveries that failed together. */
export const JITTER = 0.2;

/**
 * Delay before retry number `retry` (1 = the first retry): exponential with a
 * cap and jitter. A delay the response gave (Retry-After, a connector's backoff
 * header; see headerDelayMs) replaces the computed delay but is still capped by
 * maxBackoffSeconds.
 */
export function retryDelayMs(config: RetryConfig, retry: number, retryAfterMs: number | null, random: () => number = Math.random): number {
  const capMs = config.maxBackoffSeconds * 1000;
  if (retryAfterMs !== null) return Math.min(Math.max(retryAfterMs, 0), capMs);
  const base = config.initialDelaySeconds * 1000 * config.backoffMultiplier ** (retry - 1);
  const jittered = base * (1 + (random() * 2 - 1) * JITTER);
  return Math.round(Math.min(jittered, capMs));
}

/**
 * How a header gives a delay: `seconds` (Retry-After's forms: seconds, whole or
 * decimal, or an HTTP date), `millis` (a delay in milliseconds), `epoch_seconds`
 * or `epoch_millis` (the moment the wait ends).
 */
export type HeaderDelayFormat = 'seconds' | 'millis' | 'epoch_seconds' | 'epoch_millis';

/** A non-negative decimal number: `1`, `1.5`, `.25`. No sign, exponent or spaces inside. */
const DECIMAL = /^(?:\d+(?:\.\d*)?|\.\d+)$/;
const DAY = '(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)';
const MONTH = '(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)';
const TIME = '\\d{2}:\\d{2}:\\d{2}';
/** RFC 9110's HTTP-date: the IMF-fixdate, and the RFC 850 and asctime forms a recipient must still accept. */
const IMF_FIXDATE = new RegExp(`^${DAY}, \\d{2} ${MONTH} \\d{4} ${TIME} GMT$`, 'i');
const RFC850_DATE = new RegExp(`^(?:Mon|Tues|Wednes|Thurs|Fri|Satur|Sun)day, \\d{2}-${MONTH}-\\d{2} ${TIME} GMT$`, 'i');
const ASCTIME_DATE = new RegExp(`^${DAY} ${MONTH} [ \\d]\\d ${TIME} \\d{4}$`, 'i');
/** Longer than any retry cap; keeps arithmetic on a delay exact however large the header's number. */
const LONGEST_DELAY_MS = Number.MAX_SAFE_INTEGER;

/**
 * The one reader of a delay an HTTP response gives in a header (Retry-After,
 * an error rule's backoff header, a rate-limit reset): milliseconds to wait,
 * rounded up so that a retry never goes early, or null when the header is
 * absent or is not the format's number or an HTTP date. Null means "the API
 * did not say" and the caller's own schedule applies; reading a malformed
 * value any other way (Date.parse reads "1.5" as 2001-01-05) would turn it
 * into an accidental retry at once. A zero or a moment already past is 0: the
 * API said "now".
 */
export function headerDelayMs(value: string | undefined, format: HeaderDelayFormat = 'seconds', now: number = Date.now()): number | null {
  const text = value?.trim() ?? '';
  if (DECIMAL.test(text)) {
    const n = Number(text);
    const ms = format === 'seconds' ? n * 1000 : format === 'millis' ? n : format === 'epoch_seconds' ? n * 1000 - now : n - now;
    return Math.min(Math.ceil(Math.max(ms, 0)), LONGEST_DELAY_MS);
  }
  if (format !== 'seconds') return null;
  const date = IMF_FIXDATE.test(text) || RFC850_DATE.test(text) ? Date.parse(text) : ASCTIME_DATE.test(text) ? Date.parse(`${text} GMT`) : NaN;
  return Number.isNaN(date) ? null : Math.max(0, date - now);
}
