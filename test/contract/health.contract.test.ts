import { adapters } from './store-adapters';

/** Health (core/health.ts) and the lifecycle of the composed store, on every adapter: what /healthz reads. */
describe.each(adapters)('Health contract: %s', (_name, create) => {
  const made = create();
  const { store } = made;
  afterAll(async () => {
    await made.drop();
    await store.close();
  });

  it('is ready and answers a ping between connect and close, and neither before nor after', async () => {
    expect(store.isReady()).toBe(false);
    await expect(store.ping()).rejects.toThrow();
    await store.connect();
    expect(store.isReady()).toBe(true);
    await expect(store.ping()).resolves.toBeUndefined();
    await made.drop();
    await store.close();
    expect(store.isReady()).toBe(false);
    await expect(store.ping()).rejects.toThrow();
  });
});
