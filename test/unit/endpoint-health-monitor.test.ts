import { ManualClock } from '../../src/core/clock';
import { silentLogger } from '../../src/core/logger';
import type { HealthSettings } from '../../src/pipeline/health-model';
import { HealthMonitor } from '../../src/pipeline/health-monitor';
import { HealthTally } from '../../src/pipeline/health-tally';
import { HealthReader } from '../../src/pipeline/health-view';
import { createMemoryStore } from '../../src/store/memory/memory-store';
import type { Store } from '../../src/store/store';
import type { WebhookSubscription } from '../../src/subscriptions/model';

const SETTINGS: HealthSettings = {
  windowMs: 60_000,
  sliceMs: 5000,
  minAttempts: 5,
  minSuccessRate: 0.9,
  maxP95Ms: 1000,
  failingAfterFailures: 5,
  failingAfterMs: 60_000,
  autoDisableAfterMs: 10 * 60_000,
  flushMs: 1000,
  evaluateMs: 1000,
};

interface Emitted {
  tenantId: string;
  type: string;
  data: Record<string, unknown>;
}

/** Two delivery processes and two monitors on one store, time moved by hand. */
async function setUp(settings: HealthSettings = SETTINGS) {
  const clock = new ManualClock(Date.parse('2026-06-01T10:00:00Z'));
  const store: Store = createMemoryStore();
  await store.connect();
  const sub: WebhookSubscription = {
    id: 'sub_health', tenantId: 'acme', kind: 'webhook', endpointUrl: 'https://hooks.example.com/in', events: ['business.created'],
    filters: [], filter: null, payload: null, headers: {}, active: true, description: null, secretSealed: 'x', disabledReason: null,
    retryConfig: { maxRetries: 3, initialDelaySeconds: 1, backoffMultiplier: 2, maxBackoffSeconds: 60 },
    createdAt: new Date(clock.now()), updatedAt: new Date(clock.now()),
  } as WebhookSubscription;
  await store.insertSubscription(sub);
  const emitted: Emitted[] = [];
  const tallies = [1, 2].map(() => new HealthTally({ log: store, clock, logger: silentLogger, sliceMs: settings.sliceMs, flushMs: 60_000, failureMemory: settings.failingAfterFailures }));
  const monitors = [1, 2].map(
    () =>
      new HealthMonitor({
        log: store,
        leases: store,
        subscriptions: store,
        disableSubscription: async (tenantId, id, reason) => {
          await store.updateSubscription(tenantId, id, { active: false, disabledReason: reason });
        },
        operational: { emit: async (tenantId, type, data) => void emitted.push({ tenantId, type, data }) },
        settings,
        clock,
        logger: silentLogger,
      }),
  );
  const reader = new HealthReader(store, settings, clock);
  /** `n` attempts, alternating between the two processes, 100 ms apart. */
  const attempts = async (n: number, ok: boolean, durationMs = 50): Promise<void> => {
    for (let i = 0; i < n; i++) {
      tallies[i % 2]!.observe('acme', sub.id, ok, durationMs);
      clock.advance(100);
    }
    for (const t of tallies) await t.flush();
  };
  /** Both monitors evaluate (only the lease holder does anything). */
  const evaluate = async (): Promise<void> => {
    for (const m of monitors) await m.tick();
  };
  const health = async () => {
    const current = (await store.getSubscription('acme', sub.id))!;
    return (await reader.views([current])).get(sub.id)!;
  };
  const events = (): string[] => emitted.map((e) => `${e.type}:${String(e.data['state'] ?? '')}`);
  return { clock, store, sub, emitted, attempts, evaluate, health, events, monitors, tallies };
}

describe('endpoint health monitor', () => {
  it('goes healthy → degraded (slow) → failing → healthy across two processes, announcing each change once', async () => {
    const h = await setUp();
    await h.attempts(20, true, 40);
    await h.evaluate();
    expect(await h.health()).toMatchObject({ state: 'healthy', successRate: 1, attempts: 20 });
    expect(h.events()).toEqual([]);

    h.clock.advance(60_000);
    await h.attempts(20, true, 2500);
    await h.evaluate();
    await h.evaluate();
    const slow = await h.health();
    expect(slow).toMatchObject({ state: 'degraded', successRate: 1 });
    expect(slow.p95Ms).toBeGreaterThan(1000);
    expect(slow.reason).toMatch(/p95 latency \d+ ms is above 1000 ms/);
    expect(h.events()).toEqual(['webhook.endpoint_degraded:degraded']);
    expect(h.emitted[0]).toMatchObject({ tenantId: 'acme', data: { subscription_id: 'sub_health', endpoint_url: 'https://hooks.example.com/in', previous_state: 'healthy' } });

    // Five failures in a row, spread over both processes.
    await h.attempts(5, false);
    await h.evaluate();
    await h.evaluate();
    expect(await h.health()).toMatchObject({ state: 'failing', reason: 'The last 5 attempts failed.' });
    expect(h.events()).toEqual(['webhook.endpoint_degraded:degraded', 'webhook.endpoint_degraded:failing']);
    expect(h.emitted[1]!.data).toMatchObject({ previous_state: 'degraded', consecutive_failures: 5 });

    // One success ends the outage; the outage's failures no longer count against the window.
    await h.attempts(1, true);
    await h.evaluate();
    await h.evaluate();
    const back = await h.health();
    expect(back).toMatchObject({ state: 'healthy' });
    expect(back.lastSuccessAt! > back.lastFailureAt!).toBe(true);
    expect(h.events()).toEqual(['webhook.endpoint_degraded:degraded', 'webhook.endpoint_degraded:failing', 'webhook.endpoint_recovered:healthy']);
    expect(h.emitted[2]!.data).toMatchObject({ previous_state: 'failing' });
  });

  it('stays failing until an attempt succeeds, even once the failures leave the window', async () => {
    const h = await setUp();
    await h.attempts(6, false);
    await h.evaluate();
    expect((await h.health()).state).toBe('failing');
    h.clock.advance(5 * 60_000);
    await h.evaluate();
    expect((await h.health()).state).toBe('failing');
    expect(h.events()).toEqual(['webhook.endpoint_degraded:failing']);
  });

  it('a low success rate is degraded; a few failures are not failing until nothing succeeded for the configured time', async () => {
    const h = await setUp({ ...SETTINGS, failingAfterFailures: 20 });
    for (let i = 0; i < 5; i++) {
      await h.attempts(2, true);
      await h.attempts(2, false);
    }
    await h.evaluate();
    expect(await h.health()).toMatchObject({ state: 'degraded', successRate: 0.5 });
    expect((await h.health()).reason).toMatch(/Success rate 50 % is below 90 %/);
    // Two failures, then nothing succeeds for a minute while an attempt now and then fails.
    await h.attempts(1, false);
    for (let i = 0; i < 3; i++) {
      h.clock.advance(25_000);
      await h.attempts(1, false);
      await h.evaluate();
    }
    expect(await h.health()).toMatchObject({ state: 'failing', reason: 'No attempt succeeded for 1 min while attempts failed.' });
    expect(h.events()).toEqual(['webhook.endpoint_degraded:degraded', 'webhook.endpoint_degraded:failing']);
  });

  it('disables a subscription failing for HOOKHUB_AUTO_DISABLE_AFTER once, and starts afresh when it is re-enabled', async () => {
    const h = await setUp();
    await h.attempts(5, false);
    await h.evaluate();
    for (let minute = 0; minute < 10; minute++) {
      h.clock.advance(60_000);
      await h.attempts(1, false);
      await h.evaluate();
    }
    const sub = (await h.store.getSubscription('acme', h.sub.id))!;
    expect(sub.active).toBe(false);
    expect(sub.disabledReason).toMatch(/^every attempt failed for 10 min \(since 2026-06-01T09:59:59\.950Z\)$/);
    await h.evaluate();
    expect(h.events()).toEqual(['webhook.endpoint_degraded:failing', 'webhook.endpoint_disabled:']);
    expect(h.emitted[1]!.data).toMatchObject({ subscription_id: h.sub.id, endpoint_url: 'https://hooks.example.com/in', failing_since: '2026-06-01T09:59:59.950Z' });
    expect(await h.health()).toMatchObject({ state: 'disabled', reason: sub.disabledReason });

    await h.store.updateSubscription('acme', h.sub.id, { active: true, disabledReason: null });
    await h.evaluate();
    expect(await h.health()).toMatchObject({ state: 'healthy', reason: null });
    // Figures count again from the next whole slice on.
    h.clock.advance(SETTINGS.sliceMs);
    await h.attempts(2, true);
    await h.evaluate();
    expect(await h.health()).toMatchObject({ state: 'healthy', successRate: 1, attempts: 2 });
    expect(h.events()).toHaveLength(2);
  });

  it('never disables with HOOKHUB_AUTO_DISABLE_AFTER=off', async () => {
    const h = await setUp({ ...SETTINGS, autoDisableAfterMs: null });
    await h.attempts(5, false);
    for (let hour = 0; hour < 3; hour++) {
      h.clock.advance(3_600_000);
      await h.attempts(1, false);
      await h.evaluate();
    }
    expect((await h.store.getSubscription('acme', h.sub.id))!.active).toBe(true);
    expect((await h.health()).state).toBe('failing');
  });
});
