import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import path from 'node:path';
import { entryArgs } from './entry';

const ROOT = path.resolve(__dirname, '../..');

/** A long-running `hookhub` command (listen, tunnel) as a user runs it: what it printed so far, and its exit. */
export interface CliProcess {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  exited: Promise<number | null>;
}

const running = new Set<ChildProcess>();

/** Starts `hookhub <args>` (compiled for the run, see entry.ts; with a bare environment: no stored login, no colours). */
export function startCliProcess(args: string[]): CliProcess {
  const child = spawn(process.execPath, [...entryArgs('cli/index'), ...args], {
    cwd: ROOT,
    env: { PATH: process.env['PATH'] ?? '', NO_COLOR: '1', HOME: process.env['HOME'] ?? '/tmp' },
  });
  running.add(child);
  let out = '';
  let err = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString('utf8')));
  child.stderr.on('data', (c: Buffer) => (err += c.toString('utf8')));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  void exited.then(() => running.delete(child));
  return { child, stdout: () => out, stderr: () => err, exited };
}

/** Kills (SIGKILL) every CLI process a test started and has not ended: for afterEach. */
export function killCliProcesses(): void {
  for (const child of running) child.kill('SIGKILL');
  running.clear();
}
