import { newId } from '../../src/core/ids';
import type { ConnectionRecord } from '../../src/integrations/model';
import type { RelaySubscription } from '../../src/subscriptions/model';
import { adapters, connectedStore, integrationRecord, subscriptionRecord } from './store-adapters';

/** TenantPlans, UsageCounters and TenantResourceCounts (plans/ports.ts), on every adapter. */
describe.each(adapters)('plans ports contract: %s', (_name, create) => {
  const { store } = connectedStore(create);
  const tenant = (): string => newId('tp');

  it('keeps one plan per tenant, replaced as a whole, none for a tenant never given one', async () => {
    const [a, b] = [tenant(), tenant()];
    expect(await store.getTenantPlan(a)).toBeNull();
    const first = { tenantId: a, plan: 'free', source: 'directory' as const, changedAt: new Date('2026-12-01T10:00:00.000Z'), directoryChangedAt: new Date('2026-12-01T09:59:00.000Z') };
    await store.putTenantPlan(first);
    await store.putTenantPlan({ tenantId: b, plan: 'business', source: 'operator', changedAt: new Date('2026-12-01T11:00:00.000Z'), directoryChangedAt: null });
    expect(await store.getTenantPlan(a)).toEqual(first);
    const second = { tenantId: a, plan: 'developer', source: 'cli' as const, changedAt: new Date('2026-12-02T10:00:00.000Z'), directoryChangedAt: null };
    await store.putTenantPlan(second);
    expect(await store.getTenantPlan(a)).toEqual(second);
    expect(await store.getTenantPlan(b)).toMatchObject({ plan: 'business', source: 'operator', directoryChangedAt: null });
  });

  it('lists the tenants whose stored plan is one of some plans', async () => {
    const [a, b, c] = [tenant(), tenant(), tenant()];
    const plan = (name: string): string => `${name}-${a}`;
    const record = (tenantId: string, name: string) => ({ tenantId, plan: plan(name), source: 'operator' as const, changedAt: new Date('2026-12-01T10:00:00.000Z'), directoryChangedAt: null });
    await store.putTenantPlan(record(a, 'gold'));
    await store.putTenantPlan(record(b, 'silver'));
    await store.putTenantPlan(record(c, 'gold'));
    await store.putTenantPlan(record(c, 'bronze'));
    const sorted = (list: Array<{ tenantId: string; plan: string }>) => [...list].sort((x, y) => x.tenantId.localeCompare(y.tenantId));
    expect(sorted(await store.listTenantsOnPlans([plan('gold'), plan('bronze')]))).toEqual(sorted([{ tenantId: a, plan: plan('gold') }, { tenantId: c, plan: plan('bronze') }]));
    expect(await store.listTenantsOnPlans([plan('silver')])).toEqual([{ tenantId: b, plan: plan('silver') }]);
    expect(await store.listTenantsOnPlans([plan('tin')])).toEqual([]);
    expect(await store.listTenantsOnPlans([])).toEqual([]);
  });

  it('adds usage to each process\'s row and sums every process\'s rows of a tenant and month', async () => {
    const [a, b] = [tenant(), tenant()];
    expect(await store.getUsage(a, '2026-12')).toEqual({ deliveries: 0 });
    await store.addUsage('proc_1', [
      { tenantId: a, period: '2026-12', metric: 'deliveries', count: 5 },
      { tenantId: b, period: '2026-12', metric: 'deliveries', count: 100 },
    ]);
    await store.addUsage('proc_1', [{ tenantId: a, period: '2026-12', metric: 'deliveries', count: 2 }]);
    await store.addUsage('proc_2', [
      { tenantId: a, period: '2026-12', metric: 'deliveries', count: 3 },
      { tenantId: a, period: '2026-11', metric: 'deliveries', count: 40 },
    ]);
    expect(await store.getUsage(a, '2026-12')).toEqual({ deliveries: 10 });
    expect(await store.getUsage(a, '2026-11')).toEqual({ deliveries: 40 });
    expect(await store.getUsage(b, '2026-12')).toEqual({ deliveries: 100 });
  });

  it('lets one caller claim a usage notice, finds the claimed ones, and claims again after a release', async () => {
    const [a, b] = [tenant(), tenant()];
    const claims = await Promise.all([1, 2, 3].map(() => store.claimUsageNotice(a, '2026-12', 'warned_80')));
    expect(claims.filter(Boolean)).toHaveLength(1);
    expect(await store.claimUsageNotice(a, '2026-12', 'warned_95')).toBe(true);
    expect(await store.claimUsageNotice(a, '2026-11', 'warned_80')).toBe(true);
    expect(await store.claimUsageNotice(a, '2026-12', 'paused')).toBe(true);
    expect(await store.claimUsageNotice(b, '2026-12', 'paused')).toBe(true);
    const paused = (await store.findUsageNotices('paused')).filter((n) => n.tenantId === a || n.tenantId === b);
    expect(paused.sort((x, y) => x.tenantId.localeCompare(y.tenantId))).toEqual([{ tenantId: a, period: '2026-12' }, { tenantId: b, period: '2026-12' }].sort((x, y) => x.tenantId.localeCompare(y.tenantId)));
    await store.releaseUsageNotice(a, '2026-12', 'paused');
    await store.releaseUsageNotice(a, '2026-10', 'paused');
    expect((await store.findUsageNotices('paused')).filter((n) => n.tenantId === a)).toEqual([]);
    expect(await store.claimUsageNotice(a, '2026-12', 'paused')).toBe(true);
    expect(await store.claimUsageNotice(a, '2026-12', 'warned_80')).toBe(false);
  });

  it("counts a tenant's webhook subscriptions and integrations (not relays) and its connections", async () => {
    const [a, b] = [tenant(), tenant()];
    expect(await store.countSubscriptions(a)).toBe(0);
    expect(await store.countConnections(a)).toBe(0);
    await store.insertSubscription(subscriptionRecord(a));
    await store.insertSubscription(subscriptionRecord(a, { active: false }));
    await store.insertSubscription(integrationRecord(a, { connectionId: 'con_x', connector: 'slack', triggers: null }));
    await store.insertSubscription(subscriptionRecord(b));
    const base = subscriptionRecord(a);
    const relay: RelaySubscription = {
      id: newId('rel'), tenantId: a, kind: 'relay', events: base.events, filters: [], filter: null, retryConfig: base.retryConfig, active: true,
      description: null, disabledReason: null, payload: null, secretSealed: 'v1:k1:a:b:c', relay: { holder: null, lastSeenAt: new Date(), keepSeconds: 60 },
      createdAt: base.createdAt, updatedAt: base.updatedAt,
    };
    await store.insertSubscription(relay);
    const connection = (tenantId: string): ConnectionRecord => ({
      id: newId('con'), tenantId, connector: 'slack', connectorVersion: '1.0.0', config: {}, secretsSealed: 'v1:k1:a:b:c', metadata: {}, status: 'active',
      tokenExpiresAt: null, description: null, lastCheckAt: null, lastCheckOk: null, lastError: null, createdAt: new Date(), updatedAt: new Date(),
    });
    await store.insertConnection(connection(a));
    await store.insertConnection(connection(b));
    await store.insertConnection(connection(b));
    expect(await store.countSubscriptions(a)).toBe(3);
    expect(await store.countSubscriptions(b)).toBe(1);
    expect(await store.countConnections(a)).toBe(1);
    expect(await store.countConnections(b)).toBe(2);
  });
});
