import { Batcher } from '../../src/core/batcher';

describe('Batcher', () => {
  it('gathers concurrent items into batches and answers each with its own result', async () => {
    const batches: number[][] = [];
    const batcher = new Batcher<number, number>({
      flush: async (items) => {
        batches.push(items);
        return items.map((i) => i * 2);
      },
      maxBatch: 3,
      lingerMs: 5,
    });
    const results = await Promise.all([1, 2, 3, 4, 5].map((i) => batcher.add(i)));
    expect(results).toEqual([2, 4, 6, 8, 10]);
    expect(batches).toEqual([[1, 2, 3], [4, 5]]);
  });

  it('fails every item of a batch whose flush throws, and carries on with the next', async () => {
    let calls = 0;
    const batcher = new Batcher<string, string>({
      flush: async (items) => {
        calls += 1;
        if (calls === 1) throw new Error('store down');
        return items;
      },
      lingerMs: 1,
    });
    const first = await Promise.allSettled([batcher.add('a'), batcher.add('b')]);
    expect(first.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    await expect(batcher.add('c')).resolves.toBe('c');
  });

  it('runs at most `concurrency` flushes at once and drains everything', async () => {
    let running = 0;
    let peak = 0;
    const batcher = new Batcher<number, void>({
      flush: async (items) => {
        running += 1;
        peak = Math.max(peak, running);
        await new Promise((r) => setTimeout(r, 10));
        running -= 1;
        return items.map(() => undefined);
      },
      maxBatch: 2,
      lingerMs: 0,
      concurrency: 2,
    });
    const all = Array.from({ length: 11 }, (_, i) => batcher.add(i));
    await batcher.drain();
    await Promise.all(all);
    expect(peak).toBe(2);
    expect(batcher.backlog).toBe(0);
  });
});
