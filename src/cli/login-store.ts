import { chmodSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** What `hookhub login` keeps: the hub's address and an API key for it. */
export interface StoredLogin {
  url: string;
  apiKey: string;
}

/** `$XDG_CONFIG_HOME/hookhub/config.json`, else `~/.config/hookhub/config.json`. */
export function loginConfigPath(env: NodeJS.ProcessEnv = process.env): string {
  const base = env['XDG_CONFIG_HOME'] !== undefined && env['XDG_CONFIG_HOME'] !== '' ? env['XDG_CONFIG_HOME'] : path.join(env['HOME'] ?? os.homedir(), '.config');
  return path.join(base, 'hookhub', 'config.json');
}

/** The stored login, or null when there is none (or the file is not one `hookhub login` wrote). */
export function readStoredLogin(env: NodeJS.ProcessEnv = process.env): StoredLogin | null {
  let text: string;
  try {
    text = readFileSync(loginConfigPath(env), 'utf8');
  } catch {
    return null;
  }
  try {
    const parsed = JSON.parse(text) as Partial<StoredLogin> | null;
    return typeof parsed?.url === 'string' && typeof parsed.apiKey === 'string' ? { url: parsed.url, apiKey: parsed.apiKey } : null;
  } catch {
    return null;
  }
}

/** Writes the login readable by its owner only: the directory 0700, the file 0600 (also when they existed before). */
export function writeStoredLogin(login: StoredLogin, env: NodeJS.ProcessEnv = process.env): string {
  const file = loginConfigPath(env);
  const dir = path.dirname(file);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  chmodSync(dir, 0o700);
  writeFileSync(file, `${JSON.stringify(login, null, 2)}\n`, { mode: 0o600 });
  chmodSync(file, 0o600);
  return file;
}

/** Forgets the stored login; whether there was one. */
export function removeStoredLogin(env: NodeJS.ProcessEnv = process.env): boolean {
  const file = loginConfigPath(env);
  const existed = readStoredLogin(env) !== null;
  rmSync(file, { force: true });
  return existed;
}
