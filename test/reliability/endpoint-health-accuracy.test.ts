import { cpus, loadavg } from 'node:os';
import { listenLocal } from '../support/local-server';
import type { LocalServer } from '../support/local-server';
import { businessCreated, startTestHub } from '../support/test-hub';
import type { TestHub } from '../support/test-hub';

// The accuracy of endpoint health, measured the way a user sees it: an endpoint goes through a
// known schedule (up, slow, down, up again) under steady traffic, and the state the API reports
// is sampled every second against the truth. Two hubs share the broker and the database, so the
// state must come through the store (each hub counts its own attempts; one monitor judges).

type Phase = 'up' | 'slow' | 'down';
const SCHEDULE: Array<{ phase: Phase; seconds: number }> = [
  { phase: 'up', seconds: 10 },
  { phase: 'slow', seconds: 18 },
  { phase: 'down', seconds: 14 },
  { phase: 'up', seconds: 18 },
];
const TRUTH: Record<Phase, string> = { up: 'healthy', slow: 'degraded', down: 'failing' };
// Slow stays under the 1 s after which the worker's per-endpoint limiter moves a slow endpoint's backlog aside.
const EVENTS_PER_SECOND = 5;
const SLOW_MS = 800;

const HEALTH_ENV = {
  HOOKHUB_HEALTH_WINDOW: '4s',
  HOOKHUB_HEALTH_SLICE: '250ms',
  HOOKHUB_HEALTH_FLUSH: '150ms',
  HOOKHUB_HEALTH_EVALUATE: '250ms',
  HOOKHUB_HEALTH_MIN_ATTEMPTS: '5',
  HOOKHUB_HEALTH_MAX_P95: '400ms',
  HOOKHUB_HEALTH_FAILING_AFTER_FAILURES: '5',
  // The traffic and the samples go through the API.
  HOOKHUB_API_RATE_LIMIT: '100000',
};

let first: TestHub;
let second: TestHub;
let endpoint: LocalServer;
let phase: Phase = 'up';

beforeAll(async () => {
  first = await startTestHub({ env: HEALTH_ENV });
  second = await startTestHub({
    reuse: { prefix: first.prefix, database: first.database, encryptionKey: first.env['HOOKHUB_ENCRYPTION_KEY'] as string },
    env: { ...HEALTH_ENV, HOOKHUB_ROLES: 'worker,jobs' },
  });
  endpoint = await listenLocal((_req, _body, res) => {
    if (phase === 'down') res.writeHead(503).end();
    else if (phase === 'slow') setTimeout(() => res.writeHead(204).end(), SLOW_MS);
    else res.writeHead(204).end();
  });
});

afterAll(async () => {
  await second?.stop();
  await first?.destroy();
  await endpoint?.close();
});

it('reports the health an endpoint really has in at least 95 % of samples (up, slow, down, up again)', async () => {
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
  const startedAt = performance.now();
  const boundaries: number[] = [];
  let offset = 0;
  for (const step of SCHEDULE) {
    boundaries.push(offset);
    offset += step.seconds * 1000;
  }
  const phaseAt = (ms: number): Phase => {
    let current: Phase = 'up';
    SCHEDULE.forEach((step, i) => {
      if (ms >= (boundaries[i] ?? 0)) current = step.phase;
    });
    return current;
  };
  // The endpoint follows the schedule; samples are taken half-way between whole seconds.
  const switcher = setInterval(() => {
    phase = phaseAt(performance.now() - startedAt);
  }, 5);
  try {
    for (let k = 0; k * 1000 + 500 < offset; k++) {
      const sampleAt = k * 1000 + 500;
      await new Promise((r) => setTimeout(r, Math.max(0, startedAt + sampleAt - performance.now())));
      const truth = TRUTH[phaseAt(performance.now() - startedAt)];
      const answer = await first.api('GET', `/v1/subscriptions/${id}`);
      expect(answer.status).toBe(200);
      const health = answer.body['health'] as { state: string; reason: string | null; successRate: number | null; p95Ms: number | null };
      samples.push({ at: sampleAt / 1000, truth, reported: health.state, why: `${health.reason ?? ''} rate ${health.successRate} p95 ${health.p95Ms}` });
    }
  } finally {
    clearInterval(switcher);
    publishing = false;
    await publisher;
  }

  const matched = samples.filter((s) => s.truth === s.reported).length;
  const accuracy = matched / samples.length;
  const misses = samples.filter((s) => s.truth !== s.reported).map((s) => `${s.at}s: ${s.reported} (truly ${s.truth}; ${s.why})`);
  console.log(`load average ${loadavg().map((l) => l.toFixed(1)).join(' ')} on ${cpus().length} CPUs`);
  console.log(`endpoint health accuracy: ${matched}/${samples.length} samples = ${(accuracy * 100).toFixed(1)} %${misses.length ? `; misses: ${misses.join(', ')}` : ''}`);
  expect(samples.length).toBe(60);
  expect(accuracy).toBeGreaterThanOrEqual(0.95);
});
