import type { ConfigError } from '../../src/config/config';
import { loadConfig, parseDuration } from '../../src/config/config';
import { DEFAULT_HEALTH_SETTINGS } from '../../src/pipeline/health-model';

describe('endpoint health configuration', () => {
  it('defaults to a 5 minute window, 90 % and 5 s thresholds, failing after 10 failures or 15 minutes, disabling after 5 days', () => {
    expect(loadConfig({}).health).toEqual(DEFAULT_HEALTH_SETTINGS);
    expect(DEFAULT_HEALTH_SETTINGS).toMatchObject({ windowMs: 300_000, minSuccessRate: 0.9, maxP95Ms: 5000, failingAfterFailures: 10, failingAfterMs: 900_000, autoDisableAfterMs: 432_000_000 });
  });

  it('reads durations as people write them, and HOOKHUB_AUTO_DISABLE_AFTER=off as never', () => {
    expect(['250ms', '30s', '15m', '2h', '5d', '1500', '1.5s'].map(parseDuration)).toEqual([250, 30_000, 900_000, 7_200_000, 432_000_000, 1500, 1500]);
    expect(parseDuration('soon')).toBeNull();
    const health = loadConfig({ HOOKHUB_HEALTH_WINDOW: '30s', HOOKHUB_HEALTH_SLICE: '1s', HOOKHUB_HEALTH_MIN_SUCCESS_PERCENT: '75', HOOKHUB_AUTO_DISABLE_AFTER: 'off' }).health;
    expect(health).toMatchObject({ windowMs: 30_000, sliceMs: 1000, minSuccessRate: 0.75, autoDisableAfterMs: null });
  });

  it('lists every bad health variable, saying what a good value looks like', () => {
    let error: ConfigError | undefined;
    try {
      loadConfig({ HOOKHUB_HEALTH_MAX_P95: 'fast', HOOKHUB_AUTO_DISABLE_AFTER: '0s', HOOKHUB_HEALTH_MIN_SUCCESS_PERCENT: '120' });
    } catch (err) {
      error = err as ConfigError;
    }
    expect(error?.problems).toEqual([
      expect.stringMatching(/^HOOKHUB_HEALTH_MIN_SUCCESS_PERCENT="120" must be a whole number from 0 to 100/),
      expect.stringMatching(/^HOOKHUB_HEALTH_MAX_P95="fast" must be a duration .* such as 250ms, 30s, 15m, 2h or 5d/),
      expect.stringMatching(/^HOOKHUB_AUTO_DISABLE_AFTER="0s" must be a duration/),
    ]);
    expect(() => loadConfig({ HOOKHUB_HEALTH_WINDOW: '10s', HOOKHUB_HEALTH_SLICE: '20s' })).toThrow(/HOOKHUB_HEALTH_SLICE \(20000 ms\) must not be longer than HOOKHUB_HEALTH_WINDOW/);
  });
});
