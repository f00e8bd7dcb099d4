import { randomBytes } from 'node:crypto';
import { loadConfig } from '../../src/config/config';

const key = (): string => randomBytes(32).toString('base64');
const services = { AMQP_URL: 'amqp://x', MONGODB_URL: 'mongodb://y/hookhub' };

describe('security settings', () => {
  it('reads the key ring from HOOKHUB_ENCRYPTION_KEYS, newest last', () => {
    const config = loadConfig({ ...services, HOOKHUB_ENCRYPTION_KEYS: `2025:${key()},2026:${key()}` });
    expect(config.encryptionKeys.map((k) => k.id)).toEqual(['2025', '2026']);
    expect(() => loadConfig({ ...services, HOOKHUB_ENCRYPTION_KEYS: `a:${key()}`, HOOKHUB_ENCRYPTION_KEY: key() })).toThrow(/not both/);
    expect(() => loadConfig({ ...services, HOOKHUB_ENCRYPTION_KEYS: `a:${key()},b:short` })).toThrow(/entry 2 \("b"\) must decode from base64 to 32 bytes/);
  });

  it('keeps the SSRF guard on in production, whatever the settings say', () => {
    expect(() => loadConfig({ ...services, NODE_ENV: 'production', HOOKHUB_ENCRYPTION_KEYS: `a:${key()}`, HOOKHUB_ALLOW_PRIVATE_NETWORKS: 'true' })).toThrow(
      /HOOKHUB_ALLOW_PRIVATE_NETWORKS=true is refused with NODE_ENV=production/,
    );
    expect(loadConfig({ ...services, NODE_ENV: 'production', HOOKHUB_ENCRYPTION_KEYS: `a:${key()}` }).allowPrivateNetworks).toBe(false);
  });

  it('publishes egress addresses only when they are addresses or ranges', () => {
    expect(loadConfig({ HOOKHUB_EGRESS_IPS: '198.51.100.1, 2001:db8::/48' }).egressIps).toEqual(['198.51.100.1', '2001:db8::/48']);
    expect(() => loadConfig({ HOOKHUB_EGRESS_IPS: '198.51.100.1,hooks.example.com' })).toThrow(/HOOKHUB_EGRESS_IPS contains "hooks.example.com"/);
  });

  it('trusts no proxy unless told which, refuses to trust any, and limits failed authentications by default', () => {
    expect(loadConfig({}).api).toMatchObject({ trustProxy: false, authFailuresPerMinute: 60 });
    expect(loadConfig({ HOOKHUB_TRUST_PROXY: '1' }).api.trustProxy).toBe(1);
    expect(loadConfig({ HOOKHUB_TRUST_PROXY: '10.0.0.0/8, loopback' }).api.trustProxy).toBe('10.0.0.0/8, loopback');
    expect(() => loadConfig({ HOOKHUB_TRUST_PROXY: 'true' })).toThrow(/HOOKHUB_TRUST_PROXY=true would let any client name its own address/);
    expect(loadConfig({ HOOKHUB_AUTH_FAILURE_LIMIT: '0' }).api.authFailuresPerMinute).toBe(0);
  });
});
