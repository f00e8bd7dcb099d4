/**
 * The expression sandbox process. It runs tenant JSONata and nothing else, so
 * whatever an expression does (exhaust the heap, hit a V8 fatal error, spin in a
 * regular expression) ends here, never in the hub. It keeps compiled
 * expressions by source and evaluates one batch at a time, in order.
 */
import { createHash } from 'node:crypto';
import jsonata from 'jsonata';
import { tweetText } from '../tweet-text';
import type { HostCall, HostReply, SandboxReady, SandboxRequest, SandboxResponse, SandboxResult } from './protocol';

/** Results wait at most this long before they are reported, so the hub sees steady progress. */
const REPORT_EVERY_MS = 20;
const CACHE_LIMIT = 2000;

const compiled = new Map<string, jsonata.Expression>();

function expression(source: string, request: SandboxRequest): jsonata.Expression {
  let found = compiled.get(source);
  if (found === undefined) {
    const { timeoutMs, maxDepth, maxSequence } = request.limits;
    found = jsonata(source, { timeout: timeoutMs, stack: maxDepth, sequence: maxSequence });
    found.registerFunction('md5', md5, '<s-:s>');
    // $tweetText(text, url?): a post for X, the text cut with "…" so that it and the link fit 280 weighted characters.
    found.registerFunction('tweetText', tweetText, '<s?s?:s>');
    found.registerFunction('parseJson', parseJson, '<s-:j>');
    if (compiled.size >= CACHE_LIMIT) compiled.delete(compiled.keys().next().value as string);
    compiled.set(source, found);
  }
  return found;
}

/**
 * $md5(text): the lower-case hex MD5 digest of the text's UTF-8 bytes, as APIs key records by it
 * (Mailchimp's subscriber hash). Pure and bounded by the text, which JSONata's own limits bound.
 */
function md5(text: string | undefined): string | undefined {
  return text === undefined ? undefined : createHash('md5').update(text, 'utf8').digest('hex');
}

/**
 * $parseJson(text): the JSON value a text holds, e.g. a response header that carries JSON (Graph API's
 * X-Business-Use-Case-Usage); nothing (undefined) when the text is absent or not JSON, so an
 * expression reading a header the API left out or garbled yields nothing rather than failing.
 */
function parseJson(text: string | undefined): unknown {
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/** Host calls waiting for the hub's answer, by call id. */
const calls = new Map<number, { resolve(value: unknown): void; reject(err: Error): void }>();
let nextCall = 1;

function callHost(id: number, fn: number, args: unknown[]): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const call = nextCall++;
    calls.set(call, { resolve, reject });
    try {
      process.send?.({ call, id, fn, args } satisfies HostCall);
    } catch (err) {
      calls.delete(call);
      reject(err as Error);
    }
  });
}

/** Bindings with the hub's functions turned into calls back to the hub. */
function withHostFunctions(request: SandboxRequest, bindings: Record<string, unknown> | null | undefined): Record<string, unknown> | undefined {
  // JSON carries an absent binding as null.
  if (bindings === undefined || bindings === null) return undefined;
  const out: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(bindings)) {
    const fn = (value as { hostFunction?: unknown } | null)?.hostFunction;
    out[name] = typeof fn === 'number' ? (...args: unknown[]) => callHost(request.id, fn, args) : value;
  }
  return out;
}

async function evaluate(request: SandboxRequest, item: [number, number, number]): Promise<SandboxResult> {
  const [s, i, b] = item;
  try {
    const value: unknown = await expression(request.sources[s] as string, request).evaluate(request.inputs[i], withHostFunctions(request, request.bindings[b]));
    return { ok: true, value };
  } catch (cause) {
    const err = cause as { message?: string; code?: string; position?: number };
    return { ok: false, message: err.message ?? String(cause), ...(err.code ? { code: err.code } : {}), ...(typeof err.position === 'number' ? { position: err.position } : {}) };
  }
}

function send(message: SandboxResponse): void {
  try {
    process.send?.(message);
  } catch {
    // A value the channel refuses (a BigInt from a hub function, say): send what JSON keeps of it, or the error.
    const results = message.results.map((r): SandboxResult => (r.ok ? { ok: true, value: plain(r.value) } : r));
    process.send?.({ ...message, results });
  }
}

function plain(value: unknown): unknown {
  if (value === undefined || typeof value === 'function') return undefined;
  const json = JSON.stringify(value);
  return json === undefined ? undefined : JSON.parse(json);
}

async function run(request: SandboxRequest): Promise<void> {
  let from = 0;
  let pending: SandboxResult[] = [];
  let reportedAt = Date.now();
  for (const item of request.items) {
    pending.push(await evaluate(request, item));
    if (Date.now() - reportedAt >= REPORT_EVERY_MS) {
      send({ id: request.id, from, results: pending });
      from += pending.length;
      pending = [];
      reportedAt = Date.now();
    }
  }
  const cpu = process.cpuUsage();
  send({ id: request.id, from, results: pending, done: true, cpuMicros: cpu.user + cpu.system });
}

let queue = Promise.resolve();
process.on('message', (message: SandboxRequest | HostReply) => {
  if ('reply' in message) {
    const waiting = calls.get(message.reply);
    calls.delete(message.reply);
    if (message.ok) waiting?.resolve(message.value);
    else waiting?.reject(new Error(message.message ?? 'the call failed'));
    return;
  }
  queue = queue.then(() => run(message));
});
// The hub is gone (or let this process go): nothing left to do.
process.on('disconnect', () => process.exit(0));
const started = process.cpuUsage();
process.send?.({ ready: true, cpuMicros: started.user + started.system } satisfies SandboxReady);
