// Over 300 lines: the pool's queues, batches, deadlines, blame and process lifecycle share state that one class keeps consistent.
import { fork } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { HubError, UnrecoverableError } from '../errors';
import type { EvaluationLimits, HostCall, HostReply, SandboxReady, SandboxRequest, SandboxResponse, SandboxResult } from './protocol';

export interface ExpressionSandboxOptions {
  /** Sandbox processes for expressions in good standing. */
  processes: number;
  /** Hard wall-clock limit of one evaluation: past it the process is killed, whatever it was doing. */
  timeoutMs: number;
  /** Heap ceiling of one sandbox process, in MiB. */
  memoryMb: number;
  /** Most evaluations sent to a process in one message. */
  maxBatch: number;
  /** A sandbox process idle this long exits (the next evaluation starts another). */
  idleMs: number;
  /** How long an expression that hit a limit is kept on the quarantine process. */
  quarantineMs: number;
  maxDepth: number;
  maxSequence: number;
}

export const DEFAULT_SANDBOX_OPTIONS: ExpressionSandboxOptions = {
  processes: 2,
  timeoutMs: 1000,
  memoryMb: 128,
  maxBatch: 256,
  idleMs: 30_000,
  quarantineMs: 10 * 60_000,
  maxDepth: 500,
  maxSequence: 100_000,
};

export type ExpressionLimit = 'timeout' | 'memory' | 'crash';

const LIMIT_CODES: Record<ExpressionLimit, string> = {
  timeout: 'expression_timeout',
  memory: 'expression_memory_exceeded',
  crash: 'expression_crashed',
};

/**
 * An expression hit one of the sandbox's hard limits. It is the fault of the
 * expression (on this input), so the delivery it belongs to fails for good;
 * nothing else is affected.
 */
export class ExpressionLimitError extends UnrecoverableError {
  constructor(
    readonly limit: ExpressionLimit,
    message: string,
  ) {
    super(LIMIT_CODES[limit], message, { status: 422, details: { limit } });
    this.name = 'ExpressionLimitError';
  }
}

export interface SandboxStats {
  evaluations: number;
  batches: number;
  /** CPU used by sandbox processes, user + system, in microseconds. */
  cpuMicros: number;
  failures: Record<ExpressionLimit, number>;
  restarts: number;
  quarantined: number;
}

/** After a hard limit, the process's last words (stderr) tell memory from other crashes. */
const OUT_OF_MEMORY = /heap out of memory|invalid size error|allocation failed|out of memory|invalid array length|invalid string length/i;
/** Grace on top of the deadline for the report of a result to arrive. */
const REPORT_GRACE_MS = 250;
const STDERR_TAIL = 4096;
/**
 * New evaluations of quarantined expressions wait behind at most this many others; past that they fail
 * at once, so a backlog on the quarantine process cannot hold up the messages waiting for it.
 */
const QUARANTINE_QUEUE_LIMIT = 32;
/** A sandbox process that has not said it is ready by then is killed (and counts as a failed start). */
const START_TIMEOUT_MS = 15_000;
/** Scheduling priority of sandbox processes (higher is nicer to others). */
const SANDBOX_NICENESS = 10;
/** Processes that die before saying they are ready this many times in a row mean the sandbox cannot start. */
const START_FAILURES_LIMIT = 3;

interface Evaluation {
  source: string;
  input: unknown;
  bindings: Record<string, unknown> | undefined;
  resolve(value: unknown): void;
  reject(err: Error): void;
  /** Evaluate alone: it was in a batch that hit a limit, and it may be the one that did. */
  isolate: boolean;
}

type HostFn = (...args: unknown[]) => unknown;

interface Batch {
  id: number;
  items: Evaluation[];
  reported: number;
  deadline: NodeJS.Timeout;
  /** Functions of the hub's passed in bindings, called back by the sandbox. */
  hostFunctions: HostFn[];
  /** Host calls under way: the deadline does not run while the hub does the work. */
  hostCalls: number;
}

type LaneName = 'general' | 'quarantine';

interface Lane {
  name: LaneName;
  size: number;
  queue: Evaluation[];
  processes: Set<SandboxProcess>;
}

interface SandboxProcess {
  child: ChildProcess;
  lane: Lane;
  ready: boolean;
  batch: Batch | null;
  timedOut: boolean;
  stderr: string;
  cpuMicros: number;
  idleTimer: NodeJS.Timeout | null;
}

/**
 * Runs tenant JSONata in separate processes with a heap ceiling and a hard
 * deadline. Worker threads are not enough: a V8 fatal error (heap exhausted,
 * "invalid size") aborts the whole process, threads and all, and a regular
 * expression in progress ignores JSONata's own timeout. A process can be
 * killed and replaced; the hub never notices more than a failed evaluation.
 *
 * Evaluations queue per lane and go to idle processes in batches (what piled up
 * while they were busy), which keeps the cost per evaluation low. A process
 * evaluates a batch in order and reports as it goes, so when it dies or stalls
 * the culprit is among the unreported items: one alone is blamed, several are
 * evaluated again one by one. An expression that hit a limit moves to the
 * quarantine lane for a while, where it can only hold up others like it.
 */
export class ExpressionSandbox {
  private readonly lanes: Record<LaneName, Lane>;
  private readonly quarantine = new Map<string, number>();
  private readonly inFlight = new WeakMap<object, Map<string, Promise<unknown>>>();
  private readonly limits: EvaluationLimits;
  private nextId = 1;
  private scheduled = false;
  private closed = false;
  private startFailures = 0;
  private readonly counters: SandboxStats = { evaluations: 0, batches: 0, cpuMicros: 0, failures: { timeout: 0, memory: 0, crash: 0 }, restarts: 0, quarantined: 0 };

  constructor(readonly options: ExpressionSandboxOptions = DEFAULT_SANDBOX_OPTIONS) {
    this.lanes = {
      general: { name: 'general', size: Math.max(1, options.processes), queue: [], processes: new Set() },
      quarantine: { name: 'quarantine', size: 1, queue: [], processes: new Set() },
    };
    this.limits = { timeoutMs: options.timeoutMs, maxDepth: options.maxDepth, maxSequence: options.maxSequence };
  }

  /**
   * Evaluates `source` on `input`. Rejects with an ExpressionLimitError when a
   * hard limit stopped it, an UnrecoverableError when JSONata itself failed.
   */
  evaluate(source: string, input: unknown, bindings?: Record<string, unknown>): Promise<unknown> {
    if (this.closed) return Promise.reject(new HubError('sandbox_closed', 'The expression sandbox is shut down.', { status: 503 }));
    // The same expression on the same event (many subscriptions, one filter) is evaluated once.
    const shared = bindings === undefined && typeof input === 'object' && input !== null ? input : null;
    if (shared) {
      const running = this.inFlight.get(shared)?.get(source);
      if (running) return running;
    }
    const lane = this.lane(source);
    if (lane.name === 'quarantine' && lane.queue.filter((e) => !e.isolate).length >= QUARANTINE_QUEUE_LIMIT) {
      this.counters.failures.timeout += 1;
      return Promise.reject(
        new ExpressionLimitError(
          'timeout',
          `The expression recently ran past the sandbox's limits (${this.options.timeoutMs} ms, ${this.options.memoryMb} MiB) and too many of its evaluations are waiting; it was not evaluated. Simplify it and test it with a sample event.`,
        ),
      );
    }
    const promise = new Promise<unknown>((resolve, reject) => {
      lane.queue.push({ source, input, bindings, resolve, reject, isolate: false });
      this.schedule();
    });
    if (shared) {
      let bySource = this.inFlight.get(shared);
      if (!bySource) {
        bySource = new Map();
        this.inFlight.set(shared, bySource);
      }
      bySource.set(source, promise);
      const forget = (): void => void bySource.delete(source);
      promise.then(forget, forget);
    }
    return promise;
  }

  /** Whether the expression recently hit a limit: its evaluations run apart from everyone else's. */
  isQuarantined(source: string): boolean {
    return this.lane(source).name === 'quarantine';
  }

  stats(): SandboxStats {
    return { ...this.counters, failures: { ...this.counters.failures }, quarantined: this.quarantine.size };
  }

  /** Starts the general processes now rather than on the first evaluation. */
  warm(): void {
    const lane = this.lanes.general;
    while (!this.closed && lane.processes.size < lane.size) this.spawn(lane);
  }

  async close(): Promise<void> {
    this.closed = true;
    const exits: Array<Promise<void>> = [];
    for (const lane of Object.values(this.lanes)) {
      for (const evaluation of lane.queue.splice(0)) evaluation.reject(new HubError('sandbox_closed', 'The expression sandbox is shut down.', { status: 503 }));
      for (const p of lane.processes) {
        if (p.child.exitCode === null && p.child.signalCode === null) exits.push(new Promise((resolve) => p.child.once('exit', () => resolve())));
        p.child.kill('SIGKILL');
      }
    }
    await Promise.all(exits);
  }

  private lane(source: string): Lane {
    const until = this.quarantine.get(source);
    if (until === undefined) return this.lanes.general;
    if (until > Date.now()) return this.lanes.quarantine;
    this.quarantine.delete(source);
    return this.lanes.general;
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    // Evaluations asked for in the same turn (one event, many subscriptions) share a batch.
    setImmediate(() => {
      this.scheduled = false;
      this.dispatch(this.lanes.general);
      this.dispatch(this.lanes.quarantine);
    });
  }

  private dispatch(lane: Lane): void {
    if (lane.queue.length === 0 || this.closed) return;
    for (const p of lane.processes) {
      if (lane.queue.length === 0) return;
      if (p.ready && p.batch === null) this.send(p, this.take(lane));
    }
    // Work waits and every process is busy or starting: add one if the lane has room.
    const starting = [...lane.processes].some((p) => !p.ready);
    if (lane.queue.length > 0 && !starting && lane.processes.size < lane.size) this.spawn(lane);
  }

  private take(lane: Lane): Evaluation[] {
    const first = lane.queue[0] as Evaluation;
    if (first.isolate) return lane.queue.splice(0, 1);
    let n = 1;
    while (n < lane.queue.length && n < this.options.maxBatch && !(lane.queue[n] as Evaluation).isolate) n += 1;
    return lane.queue.splice(0, n);
  }

  private send(p: SandboxProcess, items: Evaluation[]): void {
    const sources = new Map<string, number>();
    const inputs = new Map<unknown, number>();
    const bindings: SandboxRequest['bindings'] = [undefined];
    const hostFunctions: HostFn[] = [];
    const request: SandboxRequest = { id: this.nextId++, limits: this.limits, sources: [], inputs: [], bindings, items: [] };
    for (const e of items) {
      let s = sources.get(e.source);
      if (s === undefined) {
        s = request.sources.push(e.source) - 1;
        sources.set(e.source, s);
      }
      let i = inputs.get(e.input);
      if (i === undefined) {
        i = request.inputs.push(e.input) - 1;
        inputs.set(e.input, i);
      }
      const b = e.bindings === undefined ? 0 : bindings.push(withoutFunctions(e.bindings, hostFunctions)) - 1;
      request.items.push([s, i, b]);
    }
    if (p.idleTimer) clearTimeout(p.idleTimer);
    p.idleTimer = null;
    p.timedOut = false;
    p.batch = { id: request.id, items, reported: 0, deadline: this.deadline(p), hostFunctions, hostCalls: 0 };
    const deadline = p.batch.deadline;
    p.child.ref();
    p.child.channel?.ref();
    try {
      p.child.send(request);
    } catch (err) {
      clearTimeout(deadline);
      p.batch = null;
      for (const e of items) e.reject(new UnrecoverableError('jsonata_evaluation_failed', `The expression's input cannot be evaluated: ${(err as Error).message}`));
      this.idle(p);
      return;
    }
    this.counters.batches += 1;
    this.counters.evaluations += items.length;
  }

  private received(p: SandboxProcess, message: SandboxResponse | SandboxReady | HostCall): void {
    if ('call' in message) {
      void this.hostCall(p, message);
      return;
    }
    if ('ready' in message) {
      p.ready = true;
      p.cpuMicros = message.cpuMicros;
      this.startFailures = 0;
      this.idle(p);
      return;
    }
    const batch = p.batch;
    if (!batch || batch.id !== message.id) return;
    batch.deadline.refresh();
    message.results.forEach((result, k) => settle(batch.items[message.from + k], result, this.options));
    batch.reported = message.from + message.results.length;
    if (!message.done) return;
    clearTimeout(batch.deadline);
    if (message.cpuMicros !== undefined) {
      this.counters.cpuMicros += message.cpuMicros - p.cpuMicros;
      p.cpuMicros = message.cpuMicros;
    }
    p.batch = null;
    this.idle(p);
  }

  private async hostCall(p: SandboxProcess, call: HostCall): Promise<void> {
    const batch = p.batch;
    if (!batch || batch.id !== call.id) return;
    batch.hostCalls += 1;
    clearTimeout(batch.deadline);
    let reply: HostReply;
    try {
      const fn = batch.hostFunctions[call.fn];
      if (!fn) throw new Error('unknown function');
      reply = { reply: call.call, ok: true, value: await fn(...call.args) };
    } catch (err) {
      reply = { reply: call.call, ok: false, message: (err as Error).message };
    }
    batch.hostCalls -= 1;
    if (p.batch !== batch) return;
    if (batch.hostCalls === 0) batch.deadline = this.deadline(p);
    try {
      p.child.send(reply);
    } catch {
      p.child.send({ reply: call.call, ok: false, message: 'the answer cannot be passed to the sandbox' } satisfies HostReply);
    }
  }

  private idle(p: SandboxProcess): void {
    this.dispatch(p.lane);
    if (p.batch !== null) return;
    // An idle process must not keep the hub (or a test run) alive, and goes away after a while.
    p.child.unref();
    p.child.channel?.unref();
    p.idleTimer = setTimeout(() => p.child.kill('SIGKILL'), this.options.idleMs);
    p.idleTimer.unref();
  }

  /** A fresh deadline for the item in progress (a cleared timer cannot be re-armed). */
  private deadline(p: SandboxProcess): NodeJS.Timeout {
    return setTimeout(() => this.stalled(p), this.options.timeoutMs + REPORT_GRACE_MS);
  }

  private stalled(p: SandboxProcess): void {
    p.timedOut = true;
    p.child.kill('SIGKILL');
  }

  private exited(p: SandboxProcess): void {
    const lane = p.lane;
    lane.processes.delete(p);
    if (p.idleTimer) clearTimeout(p.idleTimer);
    if (!p.ready) {
      this.startFailures += 1;
      if (this.startFailures >= START_FAILURES_LIMIT) {
        const err = new HubError('sandbox_unavailable', `The expression sandbox cannot start: ${p.stderr.trim().slice(-500) || 'its process exited at once'}`, { status: 503 });
        for (const e of lane.queue.splice(0)) e.reject(err);
        this.startFailures = 0;
        return;
      }
    }
    const batch = p.batch;
    if (batch) {
      clearTimeout(batch.deadline);
      this.counters.restarts += 1;
      const limit: ExpressionLimit = p.timedOut ? 'timeout' : OUT_OF_MEMORY.test(p.stderr) ? 'memory' : 'crash';
      const suspects = batch.items.slice(batch.reported);
      // Several suspects are evaluated again one by one, on the quarantine process: the general ones go on meanwhile.
      if (suspects.length === 1) this.blame(suspects[0] as Evaluation, limit);
      else this.lanes.quarantine.queue.unshift(...suspects.map((e) => ({ ...e, isolate: true })));
    }
    this.dispatch(lane);
    this.dispatch(this.lanes.quarantine);
  }

  private blame(e: Evaluation, limit: ExpressionLimit): void {
    this.counters.failures[limit] += 1;
    if (this.quarantine.size >= 10_000) this.quarantine.clear();
    this.quarantine.set(e.source, Date.now() + this.options.quarantineMs);
    e.reject(new ExpressionLimitError(limit, limitMessage(limit, this.options)));
  }

  private spawn(lane: Lane): void {
    const { file, execArgv } = childEntry();
    const child = fork(file, [], {
      execArgv: [...execArgv, `--max-old-space-size=${this.options.memoryMb}`, '--max-semi-space-size=16'],
      // JSON costs about half of structured clone per message here, and what crosses is JSON anyway (events, settings, results bound for a JSON body).
      serialization: 'json',
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
      env: { ...process.env, NODE_OPTIONS: '' },
    });
    const p: SandboxProcess = { child, lane, ready: false, batch: null, timedOut: false, stderr: '', cpuMicros: 0, idleTimer: null };
    // A busy sandbox must not take the CPU from the hub itself (health checks, the broker's heartbeats, sending).
    try {
      if (child.pid !== undefined) os.setPriority(child.pid, SANDBOX_NICENESS);
    } catch {
      // Not allowed here: the deadline still bounds what an expression can take.
    }
    lane.processes.add(p);
    child.stderr?.setEncoding('utf8');
    // Only read for a crash's last words: the IPC channel alone says whether the process is needed.
    (child.stderr as (NodeJS.ReadableStream & { unref?: () => void }) | null)?.unref?.();
    child.stderr?.on('data', (chunk: string) => {
      p.stderr = (p.stderr + chunk).slice(-STDERR_TAIL);
    });
    child.on('message', (message: SandboxResponse | SandboxReady) => this.received(p, message));
    // A process that cannot be started (or never says it is ready) counts as one that died at start.
    const startDeadline = setTimeout(() => child.kill('SIGKILL'), START_TIMEOUT_MS);
    startDeadline.unref();
    let gone = false;
    const onGone = (): void => {
      if (gone) return;
      gone = true;
      clearTimeout(startDeadline);
      this.exited(p);
    };
    child.once('message', () => clearTimeout(startDeadline));
    child.on('error', () => {
      if (child.pid === undefined || child.exitCode !== null) onGone();
    });
    child.once('exit', onGone);
  }
}

/** A copy of `bindings` whose functions wait in `functions`, each replaced by its index. */
function withoutFunctions(bindings: Record<string, unknown>, functions: HostFn[]): Record<string, unknown> {
  let out: Record<string, unknown> | null = null;
  for (const [name, value] of Object.entries(bindings)) {
    if (typeof value !== 'function') continue;
    out ??= { ...bindings };
    out[name] = { hostFunction: functions.push(value as HostFn) - 1 };
  }
  return out ?? bindings;
}

function settle(e: Evaluation | undefined, result: SandboxResult, options: ExpressionSandboxOptions): void {
  if (!e) return;
  if (result.ok) {
    e.resolve(result.value);
    return;
  }
  // JSONata's own deadline is the same limit as the hard one, reached politely: the same error, the same advice.
  if (result.code === 'D1012') {
    e.reject(new ExpressionLimitError('timeout', limitMessage('timeout', options)));
    return;
  }
  e.reject(
    new UnrecoverableError('jsonata_evaluation_failed', `JSONata evaluation failed: ${result.message}`, {
      details: { code: result.code, position: result.position },
    }),
  );
}

function limitMessage(limit: ExpressionLimit, o: ExpressionSandboxOptions): string {
  switch (limit) {
    case 'timeout':
      return `The expression ran longer than ${o.timeoutMs} ms and was stopped; simplify it (a regular expression that backtracks, a loop over a large range) and test it with a sample event.`;
    case 'memory':
      return `The expression used more than ${o.memoryMb} MiB of memory and was stopped; it builds a string or array far too large.`;
    case 'crash':
      return 'The expression crashed the sandbox it runs in and was stopped; simplify it and test it with a sample event.';
  }
}

/** The sandbox's entry: compiled JavaScript in a build, the TypeScript source through tsx in development and tests. */
function childEntry(): { file: string; execArgv: string[] } {
  const js = path.join(__dirname, 'child.js');
  if (existsSync(js)) return { file: js, execArgv: [] };
  // Running from source: a compiled child named by HOOKHUB_SANDBOX_CHILD (the test runs build one) starts
  // several times faster than the source through tsx.
  const compiled = process.env['HOOKHUB_SANDBOX_CHILD'];
  if (compiled && existsSync(compiled)) return { file: compiled, execArgv: [] };
  const tsx = path.join(path.dirname(require.resolve('tsx/package.json')), 'dist', 'loader.mjs');
  return { file: path.join(__dirname, 'child.ts'), execArgv: ['--import', pathToFileURL(tsx).href] };
}

let shared: ExpressionSandbox | null = null;

/** The process's sandbox, started on first use; `configureSandbox` sets its limits first. */
export function expressionSandbox(): ExpressionSandbox {
  shared ??= new ExpressionSandbox();
  return shared;
}

/**
 * Sets the limits of the process's sandbox from the hub's config. One sandbox
 * serves every hub in a process (tests run several), so the first configuration
 * that differs from the running one replaces it.
 */
export function configureSandbox(options: ExpressionSandboxOptions): ExpressionSandbox {
  if (shared && sameOptions(shared.options, options)) return shared;
  // Evaluations already under way finish on the old sandbox's processes, which then go idle and exit.
  shared = new ExpressionSandbox(options);
  return shared;
}

function sameOptions(a: ExpressionSandboxOptions, b: ExpressionSandboxOptions): boolean {
  return (Object.keys(a) as Array<keyof ExpressionSandboxOptions>).every((k) => a[k] === b[k]);
}
