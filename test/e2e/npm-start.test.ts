import { execFile, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';

/*
 * The README's first steps as a newcomer runs them: `npm start` in embedded mode, a subscription
 * to a local http://127.0.0.1 endpoint served by examples/receiver.mjs, which verifies what
 * arrives; then SIGTERM to npm, which must reach the hub.
 */

const ROOT = path.resolve(__dirname, '../..');
const START_TIMEOUT_MS = 60_000;
const env = { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? '' };

interface Spawned {
  child: ChildProcess;
  lines: string[];
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Resolves with the first line that matches. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<string>;
}

function start(command: string, args: string[], extraEnv: Record<string, string>): Spawned {
  const child = spawn(command, args, { cwd: ROOT, env: { ...env, ...extraEnv }, stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: string[] = [];
  const waiters: Array<{ pattern: RegExp; resolve: (line: string) => void }> = [];
  let buffered = '';
  const onData = (chunk: Buffer): void => {
    buffered += chunk.toString('utf8');
    const complete = buffered.split('\n');
    buffered = complete.pop() ?? '';
    for (const line of complete) {
      lines.push(line);
      for (const w of waiters.splice(0)) {
        if (w.pattern.test(line)) w.resolve(line);
        else waiters.push(w);
      }
    }
  };
  child.stdout?.on('data', onData);
  child.stderr?.on('data', onData);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  const waitFor = (pattern: RegExp, timeoutMs = 10_000): Promise<string> => {
    const seen = lines.find((l) => pattern.test(l));
    if (seen !== undefined) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${command} printed no line matching ${pattern} in time:\n${lines.join('\n')}`)), timeoutMs);
      waiters.push({ pattern, resolve: (line) => (clearTimeout(timer), resolve(line)) });
      void exited.then(({ code }) => reject(new Error(`${command} exited with ${code} before printing ${pattern}:\n${lines.join('\n')}`)));
    });
  };
  return { child, lines, exited, waitFor };
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function gone(pid: number, withinMs: number): Promise<boolean> {
  const deadline = Date.now() + withinMs;
  while (Date.now() < deadline) {
    if (!alive(pid)) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return !alive(pid);
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

let npm: Spawned;
let receiver: Spawned | null = null;
let hubPid = 0;
let base = '';
let apiKey = '';

beforeAll(async () => {
  // What prestart does, done here so that the start below (`--ignore-scripts` skips only
  // prestart) is timed alone. tsc writes dist/ even when it reports type errors: those are
  // the lint's to catch, not this test's.
  await promisify(execFile)('npm', ['run', 'build'], { cwd: ROOT, env }).catch(() => undefined);
  expect(existsSync(path.join(ROOT, 'dist', 'main.js'))).toBe(true);
  npm = start('npm', ['start', '--ignore-scripts'], { PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'info' });
  const started = await npm.waitFor(/"msg":"Hookhub started"/, START_TIMEOUT_MS);
  hubPid = Number(/"pid":(\d+)/.exec(started)?.[1] ?? 0);
  base = `http://127.0.0.1:${/"url":"http:\/\/[^:]+:(\d+)"/.exec(await npm.waitFor(/Hookhub API listening/))?.[1] ?? '0'}`;
  apiKey = /(hh_[A-Za-z0-9_-]+)/.exec(await npm.waitFor(/generated API key/))?.[1] ?? '';
}, 180_000);

afterAll(() => {
  // Never leave a process behind, even when a test failed half-way.
  receiver?.child.kill('SIGKILL');
  if (hubPid > 0 && alive(hubPid)) process.kill(hubPid, 'SIGKILL');
  if (npm && npm.child.exitCode === null && npm.child.signalCode === null) npm.child.kill('SIGKILL');
});

async function api(method: string, route: string, body?: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(`${base}${route}`, {
    method,
    headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

it('the walk-through: a http://127.0.0.1 endpoint is accepted, and examples/receiver.mjs verifies what it receives', async () => {
  const port = await freePort();
  const sub = await api('POST', '/v1/subscriptions', { endpointUrl: `http://127.0.0.1:${port}/hooks`, events: ['business.created'] });
  expect(sub.status).toBe(201);
  expect(sub.body['secret']).toMatch(/^whsec_/);

  receiver = start(process.execPath, ['examples/receiver.mjs'], { HOOKHUB_SECRET: String(sub.body['secret']), RECEIVER_PORT: String(port) });
  await receiver.waitFor(new RegExp(`listening on http://127\\.0\\.0\\.1:${port}/hooks`));

  const test = await api('POST', `/v1/subscriptions/${String(sub.body['id'])}/test`, { type: 'business.created' });
  expect(test.status).toBe(200);
  await receiver.waitFor(/^verified msg_\S+ business\.created /);

  const event = await api('POST', '/v1/events', {
    type: 'business.created',
    data: { id: 'biz_1', name: 'Blue Door Bistro', category: 'restaurant', status: 'active', address: { city: 'Austin' }, created_at: '2026-11-28T10:00:00Z' },
  });
  expect(event.status).toBe(202);
  await receiver.waitFor(/^verified msg_\S+ business\.created .*"Blue Door Bistro"/);

  // Anything not signed with the subscription's secret is refused.
  const forged = await fetch(`http://127.0.0.1:${port}/hooks`, {
    method: 'POST',
    headers: { 'webhook-id': 'msg_forged', 'webhook-timestamp': String(Math.floor(Date.now() / 1000)), 'webhook-signature': 'v1,AAAA' },
    body: '{"type":"business.created"}',
  });
  expect(forged.status).toBe(400);
  expect(await forged.json()).toEqual({ error: 'invalid_signature' });
  receiver.child.kill('SIGTERM');
});

it('SIGTERM to `npm start` stops the hub itself, gracefully, and npm exits with its code', async () => {
  // The hub runs in a process of its own under npm: the one a signal must reach.
  expect(hubPid).toBeGreaterThan(0);
  expect(hubPid).not.toBe(npm.child.pid);
  expect((await fetch(`${base}/healthz`)).status).toBe(200);

  npm.child.kill('SIGTERM');
  expect(await npm.exited).toEqual({ code: 0, signal: null });
  expect(await gone(hubPid, 5_000)).toBe(true);
  expect(npm.lines.some((l) => l.includes('"signal":"SIGTERM"') && l.includes('shutting down'))).toBe(true);
  expect(npm.lines.some((l) => l.includes('shutdown failed'))).toBe(false);
  await expect(fetch(`${base}/healthz`)).rejects.toThrow();
});
