import { Router } from 'express';
import type { ApiDeps } from '../deps';

/** What the health and metrics routes read: also served alone by processes without the api role (HOOKHUB_OPS_PORT). */
export type HealthDeps = Pick<ApiDeps, 'broker' | 'store' | 'config' | 'metrics' | 'tokens'>;

export function healthRoutes(deps: HealthDeps): Router {
  const router = Router();
  router.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  router.get('/readyz', async (_req, res) => {
    const broker = deps.broker.isReady();
    let store = deps.store.isReady();
    if (store) {
      store = await Promise.race([
        deps.store.ping().then(() => true, () => false),
        new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 2000).unref()),
      ]);
    }
    const ready = broker && store;
    // Refused OAuth app credentials do not make the hub unready (it serves everything else), but operators see them here.
    const oauthApps = deps.tokens?.appCredentialProblems() ?? [];
    res.status(ready ? 200 : 503).json({
      status: ready ? 'ready' : 'unavailable',
      mode: deps.config.mode,
      checks: { broker: broker ? 'up' : 'down', store: store ? 'up' : 'down' },
      ...(oauthApps.length > 0 ? { oauthApps } : {}),
    });
  });
  router.get('/metrics', async (_req, res) => {
    res.type(deps.metrics.registry.contentType).send(await deps.metrics.registry.metrics());
  });
  return router;
}
