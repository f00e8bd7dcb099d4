import { Turns } from '../../src/core/turns';

/** Whether a promise has settled by the time pending callbacks ran. */
async function settled(promise: Promise<void>): Promise<boolean> {
  let done = false;
  void promise.then(() => (done = true));
  await new Promise((resolve) => setImmediate(resolve));
  return done;
}

describe('turns', () => {
  it('keep a later turn behind an earlier one even when a turn between them did not wait', async () => {
    const turns = new Turns();
    const first = turns.take(); // an event with ordered jobs, slow to find them
    const between = turns.take(); // an event with none: it does not wait, and is done at once
    const last = turns.take(); // an event with ordered jobs
    expect(await settled(first.ready)).toBe(true);
    between.done();
    expect(await settled(last.ready)).toBe(false);
    first.done();
    expect(await settled(last.ready)).toBe(true);
  });

  it('make each turn wait for the ones before it, in order', async () => {
    const turns = new Turns();
    const taken = [turns.take(), turns.take(), turns.take()];
    const order: number[] = [];
    const runs = taken.map(async (turn, i) => {
      await turn.ready;
      order.push(i);
      turn.done();
    });
    await Promise.all(runs);
    expect(order).toEqual([0, 1, 2]);
  });
});
