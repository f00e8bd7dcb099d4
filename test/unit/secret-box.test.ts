import { randomBytes } from 'node:crypto';
import { SecretBox } from '../../src/core/secret-box';

describe('SecretBox (AES-256-GCM)', () => {
  const k1 = { id: 'k1', key: randomBytes(32) };
  const k2 = { id: 'k2', key: randomBytes(32) };

  it('round-trips and never stores the plaintext', () => {
    const box = new SecretBox([k1]);
    const sealed = box.seal('whsec_supersecret');
    expect(sealed).not.toContain('supersecret');
    expect(sealed).toMatch(/^v1:k1:/);
    expect(box.open(sealed)).toBe('whsec_supersecret');
    expect(box.seal('same')).not.toBe(box.seal('same'));
  });

  it('encrypts with the newest key and still opens data sealed under an older one', () => {
    const old = new SecretBox([k1]).seal('a');
    const ring = new SecretBox([k1, k2]);
    expect(ring.seal('b')).toMatch(/^v1:k2:/);
    expect(ring.open(old)).toBe('a');
  });

  it('refuses tampered data and names a missing key', () => {
    const box = new SecretBox([k1]);
    const sealed = box.seal('a');
    const parts = sealed.split(':');
    parts[4] = Buffer.from('tampered').toString('base64url');
    expect(() => box.open(parts.join(':'))).toThrow(/could not be decrypted/);
    expect(() => new SecretBox([k2]).open(sealed)).toThrow(/key "k1", which is not configured/);
  });
});
