import { execFile, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';

const ROOT = path.resolve(__dirname, '../..');
const START_TIMEOUT_MS = 60_000;

let npm: ChildProcess | null = null;
let hubPid = 0;

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

beforeAll(async () => {
  // What prestart does, done here so that the start below (`--ignore-scripts` skips only
  // prestart) is timed alone. tsc writes dist/ even when it reports type errors: those are
  // the lint's to catch, not this test's.
  await promisify(execFile)('npm', ['run', 'build'], { cwd: ROOT }).catch(() => undefined);
  expect(existsSync(path.join(ROOT, 'dist', 'main.js'))).toBe(true);
}, 180_000);

afterAll(() => {
  // Never leave a hub behind, even when the test failed half-way.
  if (hubPid > 0 && alive(hubPid)) process.kill(hubPid, 'SIGKILL');
  if (npm && npm.exitCode === null && npm.signalCode === null) npm.kill('SIGKILL');
});

it(
  'SIGTERM to `npm start` stops the hub itself, gracefully, and npm exits with its code',
  async () => {
    npm = spawn('npm', ['start', '--ignore-scripts'], {
      cwd: ROOT,
      env: { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? '', PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'info' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const child = npm;
    const logs: string[] = [];
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
      child.once('exit', (code, signal) => resolve({ code, signal })),
    );
    let port = 0;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`npm start did not start the hub in time:\n${logs.join('\n')}`)), START_TIMEOUT_MS);
      let buffered = '';
      const onData = (chunk: Buffer): void => {
        buffered += chunk.toString('utf8');
        const lines = buffered.split('\n');
        buffered = lines.pop() ?? '';
        for (const line of lines) {
          logs.push(line);
          const listening = /"url":"http:\/\/[^:]+:(\d+)"/.exec(line);
          if (listening?.[1]) port = Number(listening[1]);
          if (line.includes('"msg":"Hookhub started"')) {
            hubPid = Number(/"pid":(\d+)/.exec(line)?.[1] ?? 0);
            clearTimeout(timer);
            resolve();
          }
        }
      };
      child.stdout?.on('data', onData);
      child.stderr?.on('data', onData);
      void exited.then(({ code }) => {
        clearTimeout(timer);
        reject(new Error(`npm start exited with ${code} before the hub started:\n${logs.join('\n')}`));
      });
    });

    // The hub runs in a process of its own under npm: the one a signal must reach.
    expect(hubPid).toBeGreaterThan(0);
    expect(hubPid).not.toBe(child.pid);
    expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);

    child.kill('SIGTERM');
    expect(await exited).toEqual({ code: 0, signal: null });
    expect(await gone(hubPid, 5_000)).toBe(true);
    expect(logs.some((l) => l.includes('"signal":"SIGTERM"') && l.includes('shutting down'))).toBe(true);
    expect(logs.some((l) => l.includes('shutdown failed'))).toBe(false);
    await expect(fetch(`http://127.0.0.1:${port}/healthz`)).rejects.toThrow();
  },
  START_TIMEOUT_MS + 30_000,
);
