import { cpus, loadavg } from 'node:os';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { startChildHub } from '../support/child-hub';
import type { ChildHub } from '../support/child-hub';
import { businessCreated, startTestHub } from '../support/test-hub';
import type { TestHub } from '../support/test-hub';

// The accuracy of endpoint health, measured the way a user sees it: an endpoint goes through a
// known schedule (up, slow, down, up again) under steady traffic, and the state the API reports
// is sampled every second against the truth. The deliveries are made by two worker processes that
// share the broker and the database with the API's hub, so the state must come through the store
// (each process counts its own attempts; one monitor judges).

type Phase = 'up' | 'slow' | 'down';
const SCHEDULE: Array<{ phase: Phase; seconds: number }> = [
  { phase: 'up', seconds: 10 },
  { phase: 'slow', seconds: 18 },
  { phase: 'down', seconds: 14 },
  { phase: 'up', seconds: 18 },
];
const TRUTH: Record<Phase, string> = { up: 'healthy', slow: 'degraded', down: 'failing' };
const EVENTS_PER_SECOND = 5;
const SLOW_MS = 1200;
/** Traffic before the schedule starts, not sampled: the hubs' first requests (connections, compilation) are slower. */
const WARM_UP_MS = 8000;

const HEALTH_ENV = {
  HOOKHUB_HEALTH_WINDOW: '4s',
  HOOKHUB_HEALTH_SLICE: '250ms',
  HOOKHUB_HEALTH_FLUSH: '100ms',
  HOOKHUB_HEALTH_EVALUATE: '150ms',
  HOOKHUB_HEALTH_MIN_ATTEMPTS: '5',
  HOOKHUB_HEALTH_MAX_P95: '600ms',
  HOOKHUB_HEALTH_FAILING_AFTER_FAILURES: '5',
  // The traffic and the samples go through the API.
  HOOKHUB_API_RATE_LIMIT: '100000',
};

let first: TestHub;
const workers: ChildHub[] = [];
let endpoint: { url: string; process: ChildProcess };

/**
 * The endpoint, in a process of its own so that its answers do not wait on the hubs' work: it follows
 * the schedule by the wall clock from `startAt` (up before it and after it).
 */
const ENDPOINT_SCRIPT = `
const http = require('node:http');
const { schedule, startAt, slowMs } = JSON.parse(process.argv[1]);
const phaseAt = (now) => { let at = startAt; for (const s of schedule) { if (now < at + s.seconds * 1000) return now < startAt ? 'up' : s.phase; at += s.seconds * 1000; } return 'up'; };
const server = http.createServer((req, res) => {
  req.resume();
  req.on('end', () => {
    const phase = phaseAt(Date.now());
    if (phase === 'down') res.writeHead(503).end();
    else if (phase === 'slow') setTimeout(() => res.writeHead(204).end(), slowMs);
    else res.writeHead(204).end();
  });
});
server.listen(0, '127.0.0.1', () => console.log(String(server.address().port)));
`;

async function startEndpoint(startAt: number): Promise<{ url: string; process: ChildProcess }> {
  const child = spawn(process.execPath, ['-e', ENDPOINT_SCRIPT, JSON.stringify({ schedule: SCHEDULE, startAt, slowMs: SLOW_MS })], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<string>((resolve) => child.stdout.once('data', (chunk: Buffer) => resolve(chunk.toString().trim())));
  return { url: `http://127.0.0.1:${port}`, process: child };
}

beforeAll(async () => {
  first = await startTestHub({ env: { ...HEALTH_ENV, HOOKHUB_ROLES: 'api,router,jobs' } });
  for (let i = 0; i < 2; i++) workers.push(await startChildHub({ ...first.env, HOOKHUB_ROLES: 'worker,jobs', LOG_LEVEL: 'info' }, 60_000));
  // Two hubs started with tsx on a busy machine can take a minute each.
}, 240_000);

afterAll(async () => {
  for (const worker of workers) {
    worker.kill('SIGTERM');
    await worker.exited;
  }
  await first?.destroy();
  endpoint?.process.kill();
});

it('reports the health an endpoint really has in at least 95 % of samples (up, slow, down, up again)', async () => {
  // The schedule starts after the warm-up; the endpoint and the samples both go by the wall clock.
  const startedAt = Date.now() + 3000 + WARM_UP_MS;
  endpoint = await startEndpoint(startedAt);
  const created = await first.api('POST', '/v1/subscriptions', {
    endpointUrl: `${endpoint.url}/hook`,
    events: ['business.created'],
    retryConfig: { maxRetries: 2, initialDelaySeconds: 1, backoffMultiplier: 2, maxBackoffSeconds: 5 },
  });
  expect(created.status).toBe(201);
  const id = created.body['id'] as string;

  let publishing = true;
  const publisher = (async () => {
    const start = performance.now();
    for (let n = 0; publishing; n++) {
      void first.api('POST', '/v1/events', businessCreated());
      const due = start + ((n + 1) * 1000) / EVENTS_PER_SECOND;
      await new Promise((r) => setTimeout(r, Math.max(0, due - performance.now())));
    }
  })();

  const samples: Array<{ at: number; truth: string; reported: string; why: string }> = [];
  const phaseAt = (now: number): Phase => {
    let at = startedAt;
    for (const step of SCHEDULE) {
      if (now < at + step.seconds * 1000) return now < startedAt ? 'up' : step.phase;
      at += step.seconds * 1000;
    }
    return 'up';
  };
  const total = SCHEDULE.reduce((sum, step) => sum + step.seconds, 0);
  try {
    // One sample a second, half-way between the seconds of the schedule, each sent on time (answers may overlap on a busy machine);
    // the truth is the schedule's when the request is sent.
    const taking: Array<Promise<void>> = [];
    for (let k = 0; k < total; k++) {
      const due = startedAt + k * 1000 + 500;
      await new Promise((r) => setTimeout(r, Math.max(0, due - Date.now())));
      const truth = TRUTH[phaseAt(Date.now())];
      taking.push(
        first.api('GET', `/v1/subscriptions/${id}`).then((answer) => {
          expect(answer.status).toBe(200);
          const health = answer.body['health'] as { state: string; reason: string | null; successRate: number | null; p95Ms: number | null };
          samples.push({ at: k + 0.5, truth, reported: health.state, why: `${health.reason ?? ''} rate ${health.successRate} p95 ${health.p95Ms}` });
        }),
      );
    }
    await Promise.all(taking);
  } finally {
    publishing = false;
    await publisher;
  }
  samples.sort((a, b) => a.at - b.at);

  const matched = samples.filter((s) => s.truth === s.reported).length;
  const accuracy = matched / samples.length;
  const misses = samples.filter((s) => s.truth !== s.reported).map((s) => `${s.at}s: ${s.reported} (truly ${s.truth}; ${s.why})`);
  console.log(`load average ${loadavg().map((l) => l.toFixed(1)).join(' ')} on ${cpus().length} CPUs`);
  console.log(`endpoint health accuracy: ${matched}/${samples.length} samples (of ${total} s) = ${(accuracy * 100).toFixed(1)} %${misses.length ? `; misses: ${misses.join(', ')}` : ''}`);
  expect(samples.length).toBe(total);
  expect(accuracy).toBeGreaterThanOrEqual(0.95);
});
