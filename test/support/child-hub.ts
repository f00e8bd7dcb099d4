import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import path from 'node:path';
import { entryArgs } from './entry';

const ROOT = path.resolve(__dirname, '../..');

export interface ChildHub {
  process: ChildProcess;
  logs: string[];
  /** Resolves with the exit code. */
  exited: Promise<number | null>;
  port(): number;
  kill(signal: NodeJS.Signals): void;
}

/** Runs the hub as its own process (`node main.js`, compiled for the run: see entry.ts), as an operator would. */
export async function startChildHub(env: Record<string, string>, timeoutMs = 30_000): Promise<ChildHub> {
  const child = spawn(process.execPath, entryArgs('main'), {
    cwd: ROOT,
    env: { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? '', LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: string[] = [];
  let port = 0;
  let started = false;
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const ready = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`hub did not start within ${timeoutMs} ms:\n${logs.join('\n')}`)), timeoutMs);
    const onLine = (line: string): void => {
      logs.push(line);
      const listening = /"url":"http:\/\/[^:]+:(\d+)"/.exec(line);
      if (listening?.[1]) port = Number(listening[1]);
      if (line.includes('"msg":"Hookhub started"')) {
        started = true;
        clearTimeout(timer);
        resolve();
      }
    };
    let buffered = '';
    const onData = (chunk: Buffer): void => {
      buffered += chunk.toString('utf8');
      const lines = buffered.split('\n');
      buffered = lines.pop() ?? '';
      lines.forEach(onLine);
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    void exited.then((code) => {
      if (!started) {
        clearTimeout(timer);
        reject(new Error(`hub exited with ${code} before starting:\n${logs.join('\n')}`));
      }
    });
  });
  await ready;
  return { process: child, logs, exited, port: () => port, kill: (signal) => child.kill(signal) };
}
