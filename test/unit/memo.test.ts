import { Memo } from '../../src/core/memo';

describe('Memo', () => {
  it('works a value out once per key and hands back the same one after', () => {
    const memo = new Memo<string, { n: number }>(10);
    let calls = 0;
    const compute = (key: string): { n: number } => ({ n: (calls += 1) + key.length });
    const first = memo.get('a', compute);
    expect(memo.get('a', compute)).toBe(first);
    expect(memo.get('bb', compute)).not.toBe(first);
    expect(calls).toBe(2);
  });

  it('keeps nothing when the work throws, so the next ask tries again', () => {
    const memo = new Memo<string, string>(10);
    expect(() => memo.get('k', () => { throw new Error('refused'); })).toThrow('refused');
    expect(memo.get('k', () => 'fine')).toBe('fine');
  });

  it('starts over past its size, and forgets a deleted key', () => {
    const memo = new Memo<number, number>(2);
    let calls = 0;
    const compute = (k: number): number => {
      calls += 1;
      return k * 10;
    };
    memo.get(1, compute);
    memo.get(2, compute);
    memo.get(3, compute); // full: starts over with 3 alone
    expect(calls).toBe(3);
    expect(memo.size).toBe(1);
    memo.get(3, compute);
    expect(calls).toBe(3);
    memo.get(1, compute);
    expect(calls).toBe(4);
    memo.delete(1);
    memo.get(1, compute);
    expect(calls).toBe(5);
  });
});
