import { randomBytes } from 'node:crypto';
import { ConfigError, loadConfig } from '../../src/config/config';

const key = randomBytes(32).toString('base64');

describe('configuration', () => {
  it('runs embedded with no services configured, generating an API key and an encryption key', () => {
    const config = loadConfig({});
    expect(config.mode).toBe('embedded');
    expect(config.port).toBe(3000);
    expect(config.apiKeyGenerated).toBe(true);
    expect(config.apiKey).toMatch(/^hh_/);
    expect(config.encryptionKeyGenerated).toBe(true);
    expect(config.allowPrivateNetworks).toBe(true);
    expect(Object.isFrozen(config)).toBe(true);
  });

  it('runs on RabbitMQ and MongoDB when both URLs are set, refusing private networks by default', () => {
    const config = loadConfig({ AMQP_URL: 'amqp://localhost', MONGODB_URL: 'mongodb://localhost/hookhub', HOOKHUB_ENCRYPTION_KEY: key });
    expect(config.mode).toBe('services');
    expect(config.allowPrivateNetworks).toBe(false);
    expect(config.apiKey).toBeNull();
    expect(loadConfig({ AMQP_URL: 'amqp://x', MONGODB_URL: 'mongodb://y', HOOKHUB_ENCRYPTION_KEY: key, HOOKHUB_ALLOW_PRIVATE_NETWORKS: 'true' }).allowPrivateNetworks).toBe(true);
  });

  it('serves hookhub listen relays unless HOOKHUB_RELAYS is false, and refuses a value that is no boolean', () => {
    expect(loadConfig({}).relays).toBe(true);
    expect(loadConfig({ HOOKHUB_RELAYS: 'false' }).relays).toBe(false);
    expect(() => loadConfig({ HOOKHUB_RELAYS: 'sometimes' })).toThrow(/HOOKHUB_RELAYS/);
  });

  it('lists every bad variable at once', () => {
    let error: ConfigError | null = null;
    try {
      loadConfig({ PORT: 'eighty', AMQP_URL: 'http://nope', HOOKHUB_API_KEY: 'short', HOOKHUB_ROLES: 'api,chef', LOG_LEVEL: 'loud', HOOKHUB_ALLOW_PRIVATE_NETWORKS: 'maybe' });
    } catch (err) {
      error = err as ConfigError;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const text = error!.problems.join('\n');
    for (const name of ['PORT', 'AMQP_URL', 'HOOKHUB_API_KEY', 'HOOKHUB_ROLES', 'LOG_LEVEL', 'HOOKHUB_ALLOW_PRIVATE_NETWORKS', 'MONGODB_URL']) {
      expect(text).toContain(name);
    }
    expect(error!.message).toContain('Invalid configuration');
  });

  it('requires an encryption key outside embedded mode, never falling back to plaintext', () => {
    expect(() => loadConfig({ AMQP_URL: 'amqp://x', MONGODB_URL: 'mongodb://y' })).toThrow(/HOOKHUB_ENCRYPTION_KEYS is required/);
    expect(() => loadConfig({ AMQP_URL: 'amqp://x', MONGODB_URL: 'mongodb://y', HOOKHUB_ENCRYPTION_KEY: 'dG9vIHNob3J0' })).toThrow(/32 bytes/);
  });

  it('accepts a key ring whose last key encrypts new data', () => {
    const config = loadConfig({ HOOKHUB_ENCRYPTION_KEY: `old:${key},new:${randomBytes(32).toString('base64')}` });
    expect(config.encryptionKeys.map((k) => k.id)).toEqual(['old', 'new']);
  });

  it('refuses production mode without services', () => {
    expect(() => loadConfig({ NODE_ENV: 'production' })).toThrow(/NODE_ENV=production needs AMQP_URL and MONGODB_URL/);
  });
});
