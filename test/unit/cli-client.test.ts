import { mkdtempSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CliError, DEFAULT_HUB_URL, resolveTarget } from '../../src/cli/client';
import { loginConfigPath, readStoredLogin, removeStoredLogin, writeStoredLogin } from '../../src/cli/login-store';
import { paintFor } from '../../src/cli/output';

const stored = { url: 'http://hub.example:3000/', apiKey: 'hh_stored' };

describe('resolveTarget: flags over the environment over the stored login', () => {
  it('takes each setting from the first place that has it', () => {
    expect(resolveTarget({}, {}, null)).toMatchObject({ url: new URL(`${DEFAULT_HUB_URL}/`), urlFrom: 'default', apiKey: null, apiKeyFrom: null });
    expect(resolveTarget({}, {}, stored)).toMatchObject({ url: new URL(stored.url), urlFrom: 'login', apiKey: 'hh_stored', apiKeyFrom: 'login' });
    const env = { HOOKHUB_URL: 'http://hub.example:3000', HOOKHUB_API_KEY: 'hh_env' };
    expect(resolveTarget({}, env, stored)).toMatchObject({ urlFrom: 'environment', apiKey: 'hh_env', apiKeyFrom: 'environment' });
    expect(resolveTarget({ url: 'https://other.example/base', apiKey: 'hh_flag' }, env, stored)).toMatchObject({ url: new URL('https://other.example/base/'), urlFrom: 'flag', apiKey: 'hh_flag' });
  });

  it('never sends the stored key to another hub than the one it was stored for', () => {
    expect(resolveTarget({ url: 'http://elsewhere.example' }, {}, stored)).toMatchObject({ apiKey: null });
    expect(resolveTarget({}, { HOOKHUB_URL: 'http://elsewhere.example' }, stored)).toMatchObject({ apiKey: null });
  });

  it('refuses a URL that is not http(s), naming where it came from', () => {
    expect(() => resolveTarget({}, { HOOKHUB_URL: 'ftp://x' }, null)).toThrow(new CliError('HOOKHUB_URL "ftp://x" is not an http(s) URL.'));
    expect(() => resolveTarget({ url: 'localhost:3000' }, {}, null)).toThrow(CliError);
  });
});

describe('the stored login', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(path.join(os.tmpdir(), 'hh-login-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('lives in $XDG_CONFIG_HOME/hookhub, else ~/.config/hookhub, readable by its owner only', () => {
    expect(loginConfigPath({ HOME: '/home/ann' })).toBe('/home/ann/.config/hookhub/config.json');
    const env = { XDG_CONFIG_HOME: dir };
    expect(readStoredLogin(env)).toBeNull();
    const file = writeStoredLogin(stored, env);
    expect(file).toBe(path.join(dir, 'hookhub', 'config.json'));
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(statSync(path.dirname(file)).mode & 0o777).toBe(0o700);
    expect(readStoredLogin(env)).toEqual(stored);
    expect(removeStoredLogin(env)).toBe(true);
    expect(removeStoredLogin(env)).toBe(false);
  });
});

it('colours only on a terminal, and not with NO_COLOR or TERM=dumb', () => {
  expect(paintFor({ isTTY: true }, {}).red('x')).toBe('\u001b[31mx\u001b[39m');
  expect(paintFor({ isTTY: false }, {}).red('x')).toBe('x');
  expect(paintFor({ isTTY: true }, { NO_COLOR: '1' }).red('x')).toBe('x');
  expect(paintFor({ isTTY: true }, { TERM: 'dumb' }).red('x')).toBe('x');
});
