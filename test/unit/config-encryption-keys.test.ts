import { randomBytes } from 'node:crypto';
import { ConfigError, loadConfig } from '../../src/config/config';

const key = (): string => randomBytes(32).toString('base64');
const services = { AMQP_URL: 'amqp://x', MONGODB_URL: 'mongodb://y/hookhub' };

function problems(env: Record<string, string>): string[] {
  try {
    loadConfig({ ...services, ...env });
  } catch (err) {
    if (err instanceof ConfigError) return [...err.problems];
    throw err;
  }
  return [];
}

describe('HOOKHUB_ENCRYPTION_KEYS: one variable, one key or a key ring', () => {
  it('takes one key without an id (key id k1) or a ring id:key,... whose last key encrypts new data', () => {
    const one = key();
    const single = loadConfig({ ...services, HOOKHUB_ENCRYPTION_KEYS: one });
    expect(single.encryptionKeys.map((k) => [k.id, k.key.toString('base64')])).toEqual([['k1', one]]);
    const ring = loadConfig({ ...services, HOOKHUB_ENCRYPTION_KEYS: `2025:${key()},2026:${key()}` });
    expect(ring.encryptionKeys.map((k) => k.id)).toEqual(['2025', '2026']);
  });

  it('keeps data sealed under a key given without an id readable once that key joins a ring as k1', () => {
    const old = key();
    const before = loadConfig({ ...services, HOOKHUB_ENCRYPTION_KEYS: old }).encryptionKeys;
    const after = loadConfig({ ...services, HOOKHUB_ENCRYPTION_KEYS: `k1:${old},k2:${key()}` }).encryptionKeys;
    expect(after[0]).toEqual(before[0]);
    expect(after[1]?.id).toBe('k2');
  });

  it('still reads the older name HOOKHUB_ENCRYPTION_KEY, in both forms', () => {
    expect(loadConfig({ ...services, HOOKHUB_ENCRYPTION_KEY: key() }).encryptionKeys.map((k) => k.id)).toEqual(['k1']);
    expect(loadConfig({ ...services, HOOKHUB_ENCRYPTION_KEY: `a:${key()},b:${key()}` }).encryptionKeys.map((k) => k.id)).toEqual(['a', 'b']);
  });

  it('accepts both names set to the same value, and refuses them set to different ones', () => {
    const same = key();
    expect(loadConfig({ ...services, HOOKHUB_ENCRYPTION_KEYS: same, HOOKHUB_ENCRYPTION_KEY: same }).encryptionKeys).toHaveLength(1);
    expect(problems({ HOOKHUB_ENCRYPTION_KEYS: key(), HOOKHUB_ENCRYPTION_KEY: key() })).toEqual([
      expect.stringMatching(/^HOOKHUB_ENCRYPTION_KEYS and HOOKHUB_ENCRYPTION_KEY \(its older name\) are both set, to different values: set only HOOKHUB_ENCRYPTION_KEYS/),
    ]);
  });

  it('says which variable was read and in which form when a key is wrong', () => {
    const hex = randomBytes(32).toString('hex');
    expect(problems({ HOOKHUB_ENCRYPTION_KEYS: hex })).toEqual([
      expect.stringMatching(/^HOOKHUB_ENCRYPTION_KEYS was read as one key without an id \(key id "k1"\) must decode from base64 to 32 bytes \(it decodes to 48\)\. It looks like hex/),
    ]);
    expect(problems({ HOOKHUB_ENCRYPTION_KEY: 'dG9vIHNob3J0' })).toEqual([
      expect.stringMatching(/^HOOKHUB_ENCRYPTION_KEY was read as one key without an id .* \(it decodes to 9\)/),
    ]);
    expect(problems({ HOOKHUB_ENCRYPTION_KEYS: `a:${key()},b:short` })).toEqual([
      expect.stringMatching(/^HOOKHUB_ENCRYPTION_KEYS was read as a key ring of 2 \(id:key, newest last\): entry 2 \("b"\) must decode from base64 to 32 bytes \(it decodes to 3\)/),
    ]);
  });

  it('names each malformed ring entry: empty, bad id, repeated id, not base64', () => {
    expect(problems({ HOOKHUB_ENCRYPTION_KEYS: `a:${key()},` })).toEqual([expect.stringMatching(/entry 2 is empty: remove the extra comma/)]);
    expect(problems({ HOOKHUB_ENCRYPTION_KEYS: `key one:${key()}` })).toEqual([expect.stringMatching(/entry 1 has the key id "key one": ids are 1-32 letters/)]);
    expect(problems({ HOOKHUB_ENCRYPTION_KEYS: `a:${key()},a:${key()}` })).toEqual([expect.stringMatching(/entry 2 repeats the key id "a"/)]);
    expect(problems({ HOOKHUB_ENCRYPTION_KEYS: `a:not base64!` })).toEqual([expect.stringMatching(/entry 1 \("a"\) is not base64/)]);
  });

  it('requires the variable outside embedded mode, naming both forms', () => {
    expect(problems({})).toEqual([expect.stringMatching(/^HOOKHUB_ENCRYPTION_KEYS is required with AMQP_URL\/MONGODB_URL: one key .* or a key ring id:key,\.\.\./)]);
  });
});
