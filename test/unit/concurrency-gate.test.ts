import { ConcurrencyGate } from '../../src/integrations/concurrency-gate';

describe('ConcurrencyGate', () => {
  it('holds at most max per key, hands a freed slot to the next waiter in order, and keys are apart', async () => {
    const gate = new ConcurrencyGate();
    const a = await gate.acquire('con_1', 2, 1000);
    const b = await gate.acquire('con_1', 2, 1000);
    expect(a).not.toBeNull();
    expect(b).not.toBeNull();
    expect(gate.held('con_1')).toBe(2);
    // Another connection is not held back by this one.
    const other = await gate.acquire('con_2', 2, 1000);
    expect(other).not.toBeNull();
    const order: string[] = [];
    const third = gate.acquire('con_1', 2, 1000).then((r) => (order.push('third'), r));
    const fourth = gate.acquire('con_1', 2, 1000).then((r) => (order.push('fourth'), r));
    await new Promise((r) => setTimeout(r, 20));
    expect(order).toEqual([]);
    a!();
    a!(); // a second call gives nothing back twice
    const t = await third;
    expect(order).toEqual(['third']);
    expect(gate.held('con_1')).toBe(2);
    b!();
    const f = await fourth;
    expect(order).toEqual(['third', 'fourth']);
    t!();
    f!();
    other!();
    expect(gate.held('con_1')).toBe(0);
    expect(gate.held('con_2')).toBe(0);
  });

  it('gives up after maxWaitMs when no slot frees, and the slot count is unchanged', async () => {
    const gate = new ConcurrencyGate();
    const held = await gate.acquire('con_1', 1, 1000);
    const started = Date.now();
    expect(await gate.acquire('con_1', 1, 50)).toBeNull();
    expect(Date.now() - started).toBeGreaterThanOrEqual(45);
    expect(gate.held('con_1')).toBe(1);
    held!();
    expect(gate.held('con_1')).toBe(0);
    expect(await gate.acquire('con_1', 1, 50)).not.toBeNull();
  });
});
