import { safePath } from '../../src/api/access-log';
import { ConfigError, loadConfig } from '../../src/config/config';

describe('API guard settings', () => {
  it('defaults to 600 management requests per minute per key, 1000 published events per second per tenant, 1 MiB bodies and 60 failed authentications a minute per address', () => {
    expect(loadConfig({}).api).toEqual({ rateLimitPerMinute: 600, ingestPerSecond: 1000, maxBodyBytes: 1024 * 1024, authFailuresPerMinute: 60, trustProxy: false });
    expect(loadConfig({ HOOKHUB_API_RATE_LIMIT: '10', HOOKHUB_INGEST_RATE_LIMIT: '5000', HOOKHUB_MAX_BODY_BYTES: '65536', HOOKHUB_AUTH_FAILURE_LIMIT: '5' }).api).toEqual({
      rateLimitPerMinute: 10,
      ingestPerSecond: 5000,
      maxBodyBytes: 65536,
      authFailuresPerMinute: 5,
      trustProxy: false,
    });
  });

  it('refuses values that are not whole numbers in range, naming each variable', () => {
    let error: ConfigError | null = null;
    try {
      loadConfig({ HOOKHUB_API_RATE_LIMIT: '0', HOOKHUB_MAX_BODY_BYTES: '1mb' });
    } catch (err) {
      error = err as ConfigError;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect(error!.problems).toEqual(
      expect.arrayContaining([expect.stringContaining('HOOKHUB_API_RATE_LIMIT="0" must be a whole number'), expect.stringContaining('HOOKHUB_MAX_BODY_BYTES="1mb" must be a whole number')]),
    );
  });
});

describe('access log paths', () => {
  it('drop the query and mask OAuth start handles', () => {
    expect(safePath('/v1/subscriptions?cursor=sub_1&token=abc')).toBe('/v1/subscriptions');
    expect(safePath('/oauth/callback/salesforce?code=c0de&state=s7ate')).toBe('/oauth/callback/salesforce');
    expect(safePath('/oauth/start/h4ndle-secret')).toBe('/oauth/start/[redacted]');
    expect(safePath('/v1/subscriptions/sub_1/secret')).toBe('/v1/subscriptions/sub_1/secret');
  });
});
