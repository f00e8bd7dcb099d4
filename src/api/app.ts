import express from 'express';
import type { Express, Request } from 'express';
import { accessLog } from './access-log';
import { AuditTrail } from './audit';
import { requireApiKey } from './auth';
import type { ApiDeps } from './deps';
import { apiRateLimit } from './rate-limit';
import { requireScope } from './scopes';
import { apiKeyRoutes } from './routes/api-keys';
import { auditLogRoutes } from './routes/audit-log';
import { errorHandler, notFoundRoute } from './errors';
import { jsonBody } from './json-body';
import { openApiRoutes } from './routes/openapi';
import { deadLetterRoutes } from './routes/dead-letters';
import { deliveryRoutes } from './routes/deliveries';
import { analyticsRoutes } from './routes/analytics';
import { eventTypeRoutes } from './routes/event-types';
import { eventRoutes } from './routes/events';
import { toolRoutes } from './routes/tools';
import { healthRoutes } from './routes/health';
import { subscriptionRoutes } from './routes/subscriptions';
import { connectionRoutes } from './routes/connections';
import { connectorRoutes } from './routes/connectors';
import { integrationRoutes } from './routes/integrations';
import { oauthApiRoutes, oauthBrowserRoutes } from './routes/oauth';
import { metaRoutes } from './routes/meta';
import { settingsRoutes } from './routes/settings';
import { zapierRoutes } from './routes/zapier';
import { exportRoutes } from './routes/exports';
import { tunnelRoutes } from './routes/tunnels';
import { tunnelGateway } from './tunnel-gateway';
import { sessionRoutes } from './routes/sessions';
import { consoleRoutes } from './console';
import { planRoutes } from './routes/plans';
import { IngestLimiter } from './ingest-limit';
import { authFailureLimit } from './auth-failures';

/** POST /v1/events and /v1/events/batch: publishing, limited per tenant in events a second rather than per key in requests a minute. */
function isPublish(req: Request): boolean {
  return req.method === 'POST' && /^\/events(\/batch)?\/?$/i.test(req.path);
}

/** The HTTP API, and its audit trail for the composition root to drain on shutdown (so no change goes unrecorded). */
export interface HubApi {
  app: Express;
  audit: AuditTrail;
}

export function createApp(deps: ApiDeps): HubApi {
  const app = express();
  app.disable('x-powered-by');
  // The client's address (failed-authentication limit, audit log): the connection's, or as the proxies in front say.
  app.set('trust proxy', deps.config.api.trustProxy);
  app.use(accessLog(deps.logger));
  // Tunnel URLs take any method and body, passed on raw: before the JSON parser and outside /v1's API keys.
  app.use(
    '/t',
    tunnelGateway({
      enabled: deps.config.tunnels.enabled,
      tunnels: deps.tunnels.service,
      clients: deps.tunnels.clients,
      maxBodyBytes: deps.config.api.maxBodyBytes,
      publicUrl: deps.config.publicUrl,
    }),
  );
  app.use(jsonBody({ maxBytes: deps.config.api.maxBodyBytes }));
  app.use(healthRoutes(deps));
  app.use(openApiRoutes());
  app.use(eventTypeRoutes());
  app.use(oauthBrowserRoutes(deps));
  // The web console and its sign-in (which authenticate themselves: a key exchanged for a session cookie).
  app.use(consoleRoutes(deps.config));
  // Before any key is looked up (console sign-in included): an address that keeps failing to authenticate is held off.
  if (deps.config.api.authFailuresPerMinute > 0) app.use('/v1', authFailureLimit({ perMinute: deps.config.api.authFailuresPerMinute, logger: deps.logger }));
  const audit = new AuditTrail(deps.store, deps.logger);
  app.use(sessionRoutes(deps, audit));
  // Every /v1 request: the key (revocation holds at once), its rate limit, the route's scope, then the audit trail.
  app.use('/v1', requireApiKey(deps.store, deps.logger, undefined, deps.config.memory.cacheEntries));
  // Management requests per minute per key, by the tenant's plan; publishing has its own rate per tenant (IngestLimiter).
  const planRate = async (tenantId: string): Promise<number> => (await deps.plans.planOf(tenantId)).plan.api.managementPerMinute ?? deps.config.api.rateLimitPerMinute;
  app.use('/v1', apiRateLimit({ limitFor: planRate, skip: isPublish, operational: deps.operational, logger: deps.logger }));
  app.use('/v1', requireScope(app, deps.logger));
  app.use('/v1', audit.middleware());
  app.use(apiKeyRoutes(deps));
  app.use(auditLogRoutes(deps));
  app.use(toolRoutes(deps));
  const ingest = new IngestLimiter({
    rateFor: async (tenantId) => (await deps.plans.planOf(tenantId)).plan.api.ingestPerSecond ?? deps.config.api.ingestPerSecond,
    maxTenants: deps.config.plans.maxCachedTenants,
  });
  app.use(eventRoutes(deps, ingest));
  app.use(planRoutes(deps));
  app.use(subscriptionRoutes(deps));
  app.use(connectorRoutes(deps));
  app.use(metaRoutes(deps));
  app.use(settingsRoutes(deps));
  app.use(oauthApiRoutes(deps));
  app.use(connectionRoutes(deps));
  app.use(integrationRoutes(deps));
  app.use(deliveryRoutes(deps));
  app.use(analyticsRoutes(deps));
  app.use(deadLetterRoutes(deps));
  app.use(zapierRoutes(deps));
  app.use(exportRoutes(deps));
  app.use(tunnelRoutes(deps));
  app.use(notFoundRoute);
  app.use(errorHandler(deps.logger));
  return { app, audit };
}
