import { budgetFromHeaders } from '../../src/integrations/rate-limiter';
import { judgeResponse } from '../../src/connectors/response-rules';
import type { CompiledErrorRule } from '../../src/connectors/compiled-connector';
import type { HttpResult } from '../../src/transport/http-sender';
import { classify } from '../../src/transport/outcome';
import { DEFAULT_RETRY_CONFIG, headerDelayMs, retryDelayMs } from '../../src/transport/retry-policy';

const NOW = Date.parse('2026-11-28T12:00:00Z');

function answer(status: number, headers: Record<string, string>): HttpResult {
  return { status, headers, body: '', durationMs: 1, error: null, errorCode: null };
}

describe('a delay a response gives in a header', () => {
  it.each([
    ['1.5', 1_500],
    ['64.57', 64_570],
    ['0.25', 250],
    ['.5', 500],
    ['2.', 2_000],
    // Rounded up: a retry never goes before the time the API gave.
    ['0.0001', 1],
    ['120', 120_000],
    [' 30 ', 30_000],
  ])('reads %j seconds as %i ms', (value, ms) => {
    expect(headerDelayMs(value, 'seconds', NOW)).toBe(ms);
  });

  it('reads the HTTP date forms: IMF-fixdate, RFC 850 and asctime', () => {
    expect(headerDelayMs('Sat, 28 Nov 2026 12:00:30 GMT', 'seconds', NOW)).toBe(30_000);
    expect(headerDelayMs('Saturday, 28-Nov-26 12:00:30 GMT', 'seconds', NOW)).toBe(30_000);
    expect(headerDelayMs('Sat Nov 28 12:00:30 2026', 'seconds', NOW)).toBe(30_000);
  });

  it('reads zero and a date already past as "now", as Retry-After: 0 always was', () => {
    expect(headerDelayMs('0', 'seconds', NOW)).toBe(0);
    expect(headerDelayMs('0.0', 'seconds', NOW)).toBe(0);
    expect(headerDelayMs('Sat, 28 Nov 2026 11:00:00 GMT', 'seconds', NOW)).toBe(0);
    expect(headerDelayMs(String(NOW / 1000 - 60), 'epoch_seconds', NOW)).toBe(0);
  });

  it.each([
    ['garbage', 'soon'],
    ['negative', '-1'],
    ['negative decimal', '-1.5'],
    ['empty', ''],
    ['blank', '   '],
    ['a date-like number', '1.5.2001'],
    ['an ISO date (not an HTTP date)', '2026-11-28T12:00:30Z'],
    ['a day and month', '01/05'],
    ['an exponent', '1e3'],
    ['a signed number', '+5'],
    ['a number with a unit', '5s'],
    ['two values', '1, 2'],
    ['hexadecimal', '0x10'],
    ['Infinity', 'Infinity'],
  ])('treats %s (%j) as absent, so the subscription’s own schedule applies', (_what, value) => {
    expect(headerDelayMs(value, 'seconds', NOW)).toBeNull();
    expect(headerDelayMs(value, 'millis', NOW)).toBeNull();
    expect(headerDelayMs(value, 'epoch_seconds', NOW)).toBeNull();
  });

  it('treats a missing header as absent', () => {
    expect(headerDelayMs(undefined, 'seconds', NOW)).toBeNull();
  });

  it('reads an HTTP date only where the format is seconds', () => {
    expect(headerDelayMs('Sat, 28 Nov 2026 12:00:30 GMT', 'epoch_seconds', NOW)).toBeNull();
    expect(headerDelayMs('Sat, 28 Nov 2026 12:00:30 GMT', 'millis', NOW)).toBeNull();
  });

  it('reads millis and the epoch formats, decimals included', () => {
    expect(headerDelayMs('1500', 'millis', NOW)).toBe(1_500);
    expect(headerDelayMs('1500.2', 'millis', NOW)).toBe(1_501);
    expect(headerDelayMs(String(NOW / 1000 + 1.5), 'epoch_seconds', NOW)).toBe(1_500);
    expect(headerDelayMs(String(NOW + 2_500), 'epoch_millis', NOW)).toBe(2_500);
  });

  it('keeps a huge delay a finite number, which the subscription’s maxBackoffSeconds then caps', () => {
    const config = { ...DEFAULT_RETRY_CONFIG, maxBackoffSeconds: 600 };
    for (const value of ['99999999999', '9'.repeat(400), '1'.repeat(30) + '.5']) {
      const ms = headerDelayMs(value, 'seconds', NOW);
      expect(Number.isSafeInteger(ms)).toBe(true);
      expect(retryDelayMs(config, 1, ms)).toBe(600_000);
    }
  });
});

describe('every reader uses it', () => {
  it('webhook subscriptions: a 429 or 503 with a decimal Retry-After waits that long', () => {
    expect(classify(answer(429, { 'retry-after': '1.5' }))).toEqual({ kind: 'retry', retryAfterMs: 1_500 });
    expect(classify(answer(503, { 'retry-after': '64.57' }))).toEqual({ kind: 'retry', retryAfterMs: 64_570 });
    expect(classify(answer(429, { 'retry-after': 'later' }))).toEqual({ kind: 'retry', retryAfterMs: null });
  });

  const rule = (backoff: CompiledErrorRule['backoff']): CompiledErrorRule => ({ statuses: [429], body: null, action: 'retry', backoff, message: null });

  it("connectors: an error rule's backoff header accepts decimal seconds", async () => {
    const rules = [rule({ header: 'X-RateLimit-Reset-After' })];
    await expect(judgeResponse(rules, answer(429, { 'x-ratelimit-reset-after': '1.5' }), null, NOW)).resolves.toMatchObject({ kind: 'retry', retryAfterMs: 1_500 });
    await expect(judgeResponse(rules, answer(429, { 'x-ratelimit-reset-after': '64.57' }), null, NOW)).resolves.toMatchObject({ kind: 'retry', retryAfterMs: 64_570 });
    await expect(judgeResponse(rules, answer(429, { 'x-ratelimit-reset-after': 'soon' }), null, NOW)).resolves.toMatchObject({ kind: 'retry', retryAfterMs: null });
    await expect(judgeResponse(rules, answer(429, {}), null, NOW)).resolves.toMatchObject({ kind: 'retry', retryAfterMs: null });
    const epoch = [rule({ header: 'X-RateLimit-Reset', format: 'epoch_seconds' })];
    await expect(judgeResponse(epoch, answer(429, { 'x-ratelimit-reset': String(NOW / 1000 + 2.25) }), null, NOW)).resolves.toMatchObject({ retryAfterMs: 2_250 });
  });

  it('connectors: a retry rule without backoff, and a 429 no rule matches, read Retry-After the same way', async () => {
    await expect(judgeResponse([rule(null)], answer(429, { 'retry-after': '0.25' }), null, NOW)).resolves.toMatchObject({ kind: 'retry', retryAfterMs: 250 });
    await expect(judgeResponse([], answer(429, { 'retry-after': '1.5' }), null, NOW)).resolves.toMatchObject({ kind: 'retry', retryAfterMs: 1_500 });
  });

  it('connectors: rate_limit.headers reads a decimal reset, bounded to a minute', () => {
    const spec = { remaining: 'X-RateLimit-Remaining', reset: 'X-RateLimit-Reset-After' };
    expect(budgetFromHeaders({ 'x-ratelimit-remaining': '0', 'x-ratelimit-reset-after': '1.5' }, spec, NOW)).toEqual({ remaining: 0, resetMs: 1_500 });
    expect(budgetFromHeaders({ 'x-ratelimit-remaining': '0', 'x-ratelimit-reset-after': '3600' }, spec, NOW)).toEqual({ remaining: 0, resetMs: 60_000 });
    // A reset it cannot read: the budget still counts, over a one-second window.
    expect(budgetFromHeaders({ 'x-ratelimit-remaining': '4', 'x-ratelimit-reset-after': 'soon' }, spec, NOW)).toEqual({ remaining: 4, resetMs: 1_000 });
    // No usable count: the headers said nothing.
    expect(budgetFromHeaders({ 'x-ratelimit-remaining': '', 'x-ratelimit-reset-after': '1' }, spec, NOW)).toBeNull();
    expect(budgetFromHeaders({ 'x-ratelimit-remaining': '-1', 'x-ratelimit-reset-after': '1' }, spec, NOW)).toBeNull();
    expect(budgetFromHeaders({}, spec, NOW)).toBeNull();
    const epoch = { ...spec, reset: 'X-RateLimit-Reset', reset_format: 'epoch_seconds' as const };
    expect(budgetFromHeaders({ 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': String(NOW / 1000 + 0.5) }, epoch, NOW)).toEqual({ remaining: 0, resetMs: 500 });
  });
});
