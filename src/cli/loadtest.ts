import type { Command } from 'commander';
import { isEventType } from '../events/catalog';
import { HttpSender } from '../transport/http-sender';
import { generateSecret } from '../transport/signing';
import { runLoadTest } from '../transport/loadtest/engine';
import type { LoadStage } from '../transport/loadtest/engine';
import { formatReport, progressLine } from './loadtest-report';

interface LoadtestOptions {
  secret?: string;
  rate: string;
  duration: string;
  ramp?: string;
  steps: string;
  event: string;
  slo: string;
  timeout: string;
  warmup: string;
  connections: string;
  json?: boolean;
}

/** `hookhub loadtest <url>`: an open-model load test of a webhook endpoint with signed sample events. */
export function loadtestCommand(program: Command, fail: (message: string) => never): void {
  program
    .command('loadtest <url>')
    .description('send signed sample events to an endpoint at a fixed rate and report throughput, statuses and latency percentiles')
    .option('--secret <secret>', 'signing secret (whsec_… or whsk_…; default $HOOKHUB_WEBHOOK_SECRET, else a new one is made and printed)')
    .option('--rate <n>', 'requests a second', '200')
    .option('--duration <time>', 'how long to send (e.g. 30s, 2m); with --ramp, per step', '30s')
    .option('--ramp <from:to>', 'step test from one rate to another, to find where the endpoint stops keeping up (e.g. 50:500)')
    .option('--steps <n>', 'number of steps of --ramp', '5')
    .option('--event <type>', 'event type of the sample events', 'business.created')
    .option('--slo <time>', 'latency objective: slower answers count as failed for the recommendation', '1000ms')
    .option('--timeout <time>', 'give up on a request after this long', '10s')
    .option('--warmup <time>', 'send at the first rate this long before measuring (connections opened, code warmed); 0 for none', '1s')
    .option('--connections <n>', 'most connections open to the endpoint at once', '256')
    .option('--json', 'print the result as JSON (for CI)')
    .action(async (url: string, options: LoadtestOptions) => {
      const plan = parsePlan(url, options, fail);
      let secret = options.secret ?? process.env['HOOKHUB_WEBHOOK_SECRET'];
      if (!secret) {
        secret = generateSecret();
        process.stderr.write(`No --secret given: signing with ${secret}\n`);
      }
      const sender = new HttpSender({ timeoutMs: plan.timeoutMs, allowPrivateNetworks: true, connectionsPerOrigin: plan.connections });
      const abort = new AbortController();
      const stop = (): void => abort.abort();
      process.once('SIGINT', stop);
      const live = process.stderr.isTTY && !options.json;
      try {
        const result = await runLoadTest({
          url,
          secrets: [secret],
          stages: plan.stages,
          send: (to, headers, body) => sender.send(to, headers, body),
          eventType: options.event,
          sloP99Ms: plan.sloMs,
          warmupSeconds: plan.warmupMs / 1000,
          signal: abort.signal,
          ...(live ? { onProgress: (p) => process.stderr.write(`\r\x1b[2K${progressLine(p)}`) } : {}),
        });
        if (live) process.stderr.write('\r\x1b[2K');
        process.stdout.write(options.json ? `${JSON.stringify(result, null, 2)}\n` : formatReport(result));
      } finally {
        process.off('SIGINT', stop);
        await sender.close();
      }
    });
}

interface Plan {
  stages: LoadStage[];
  sloMs: number;
  timeoutMs: number;
  warmupMs: number;
  connections: number;
}

function parsePlan(url: string, o: LoadtestOptions, fail: (message: string) => never): Plan {
  if (!/^https?:\/\//.test(url)) fail(`"${url}" is not an http(s) URL.`);
  if (!isEventType(o.event)) fail(`--event: "${o.event}" is not a known event type.`);
  const seconds = parseDuration(o.duration, '--duration', fail) / 1000;
  const count = (value: string, name: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 1) fail(`${name} must be a whole number of at least 1 (got "${value}").`);
    return n;
  };
  let stages: LoadStage[];
  if (o.ramp !== undefined) {
    const match = /^(\d+):(\d+)$/.exec(o.ramp);
    if (!match || Number(match[1]) < 1 || Number(match[2]) <= Number(match[1])) fail('--ramp takes FROM:TO rates a second, FROM at least 1 and below TO (e.g. 50:500).');
    const [from, to, steps] = [Number(match[1]), Number(match[2]), count(o.steps, '--steps')];
    stages = Array.from({ length: steps }, (_, i) => ({ rate: Math.round(from + ((to - from) * i) / Math.max(1, steps - 1)), seconds }));
  } else {
    stages = [{ rate: count(o.rate, '--rate'), seconds }];
  }
  return { stages, sloMs: parseDuration(o.slo, '--slo', fail), timeoutMs: parseDuration(o.timeout, '--timeout', fail), warmupMs: o.warmup === '0' ? 0 : parseDuration(o.warmup, '--warmup', fail), connections: count(o.connections, '--connections') };
}

/** "30s", "2m", "500ms" or a number of seconds, in milliseconds. */
export function parseDuration(value: string, name: string, fail: (message: string) => never): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(value.trim());
  const ms = match ? Number(match[1]) * ({ ms: 1, s: 1000, m: 60_000 } as const)[(match[2] ?? 's') as 'ms' | 's' | 'm'] : NaN;
  if (!(ms > 0)) fail(`${name} takes a time such as 30s, 2m or 500ms (got "${value}").`);
  return ms;
}
