import express from 'express';
import type { Express } from 'express';
import { requireApiKey } from './auth';
import type { ApiDeps } from './deps';
import { errorHandler, notFoundRoute } from './errors';
import { openApiRoutes } from './routes/openapi';
import { deadLetterRoutes } from './routes/dead-letters';
import { deliveryRoutes } from './routes/deliveries';
import { eventTypeRoutes } from './routes/event-types';
import { eventRoutes } from './routes/events';
import { healthRoutes } from './routes/health';
import { subscriptionRoutes } from './routes/subscriptions';
import { connectionRoutes } from './routes/connections';
import { connectorRoutes } from './routes/connectors';
import { integrationRoutes } from './routes/integrations';
import { oauthApiRoutes, oauthBrowserRoutes } from './routes/oauth';

export function createApp(deps: ApiDeps): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', false);
  app.use(express.json({ limit: '1mb' }));
  app.use(healthRoutes(deps));
  app.use(openApiRoutes());
  app.use(eventTypeRoutes());
  app.use(oauthBrowserRoutes(deps));
  app.use('/v1', requireApiKey(deps.store));
  app.use(eventRoutes(deps));
  app.use(subscriptionRoutes(deps));
  app.use(connectorRoutes(deps));
  app.use(oauthApiRoutes(deps));
  app.use(connectionRoutes(deps));
  app.use(integrationRoutes(deps));
  app.use(deliveryRoutes(deps));
  app.use(deadLetterRoutes(deps));
  app.use(notFoundRoute);
  app.use(errorHandler(deps.logger));
  return app;
}
