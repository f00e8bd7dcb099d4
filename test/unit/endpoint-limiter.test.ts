import { EndpointLimiter } from '../../src/delivery/endpoint-limiter';

describe('EndpointLimiter', () => {
  it('makes jobs for a healthy endpoint wait their turn, in order, beyond the check interval', async () => {
    const limiter = new EndpointLimiter(1, 20);
    expect(await limiter.acquire('https://a')).toBe(true);
    const order: string[] = [];
    const second = limiter.acquire('https://a').then((ok) => order.push(`second:${ok}`));
    const third = limiter.acquire('https://a').then((ok) => order.push(`third:${ok}`));
    // Another endpoint is not held up by the first one's queue.
    expect(await limiter.acquire('https://b')).toBe(true);
    await new Promise((r) => setTimeout(r, 70));
    expect(order).toEqual([]);
    limiter.release('https://a');
    await second;
    limiter.release('https://a');
    await third;
    expect(order).toEqual(['second:true', 'third:true']);
  });

  it('moves waiting jobs aside once their endpoint is slow, and lets new ones in when a slot frees', async () => {
    const limiter = new EndpointLimiter(1, 20);
    expect(await limiter.acquire('https://slow')).toBe(true);
    limiter.observe('https://slow', 5000, true);
    const waiting = [limiter.acquire('https://slow'), limiter.acquire('https://slow')];
    expect(await Promise.all(waiting)).toEqual([false, false]);
    limiter.release('https://slow');
    expect(await limiter.acquire('https://slow')).toBe(true);
    limiter.release('https://slow');
  });
});
