import type { HubConfig } from '../config/config';
import type { Logger } from '../core/logger';
import type { HubMetrics } from '../core/metrics';
import type { Broker } from '../broker/port';
import type { EventIntake } from '../events/intake';
import type { OperationalEvents } from '../events/operational-events';
import type { HealthReader } from '../pipeline/health-view';
import type { ReplayService } from '../pipeline/replay-service';
import type { ResendService } from '../pipeline/resend-service';
import type { TestSender } from '../pipeline/test-sender';
import type { EventInspector } from '../pipeline/inspector';
import type { EndpointChecker } from '../transport/endpoint-check';
import type { Clock } from '../core/clock';
import type { LoadTestService } from '../subscriptions/load-test-service';
import type { ConnectionService } from '../integrations/connection-service';
import type { IntegrationService } from '../integrations/integration-service';
import type { ConnectionExportService } from '../integrations/connection-exports';
import type { ConnectorRegistry } from '../connectors/registry';
import type { OAuthLinker } from '../integrations/oauth-linker';
import type { TenantSettingsService } from '../integrations/tenant-settings';
import type { TokenManager } from '../integrations/token-manager';
import type { ApiKeys, AuditLog, ConsoleSessions } from '../access/ports';
import type { Health } from '../core/health';
import type { SyncCounts, TrackedRecords } from '../integrations/ports';
import type { AttemptLog, DeadLetters, DeliveryStats, EventLog } from '../pipeline/ports';
import type { SlaTargetSource } from '../pipeline/sla-targets';
import type { SubscriptionService } from '../subscriptions/subscription-service';
import type { TunnelClients } from '../tunnels/tunnel-connection';
import type { TunnelService } from '../tunnels/tunnel-service';
import type { PlanBook } from '../plans/plan-book';
import type { TenantResourceCounts } from '../plans/ports';
import type { QuotaMeter } from '../plans/quota-meter';

export interface ApiDeps {
  config: HubConfig;
  store: Health & ApiKeys & ConsoleSessions & AuditLog & EventLog & AttemptLog & DeliveryStats & DeadLetters & SyncCounts & Pick<TrackedRecords, 'listTrackedRecords'> & TenantResourceCounts;
  broker: Broker;
  /** The hub's own events (API usage). */
  operational: OperationalEvents;
  /** Checks and records events posted to the API, as the router does those from the queue. */
  intake: EventIntake;
  subscriptions: SubscriptionService;
  connectors: ConnectorRegistry;
  connections: ConnectionService;
  integrations: IntegrationService;
  /** Exports of past events into linked accounts, queued for the jobs role. */
  exports: ConnectionExportService;
  oauth: OAuthLinker;
  /** Each tenant's settings (GET/PUT /v1/settings). */
  settings: TenantSettingsService;
  /** OAuth token refreshes: which connectors' app credentials the provider refuses (for /readyz). */
  tokens?: Pick<TokenManager, 'appCredentialProblems'>;
  replays: ReplayService;
  /** Resends of one attempt (POST /v1/attempts/:id/resend). */
  resends: ResendService;
  /** Subscriptions' endpoint health, shown with each subscription and integration. */
  health: HealthReader;
  tester: TestSender;
  /** Dry runs of events (POST /v1/events/inspect). */
  inspector: EventInspector;
  /** Endpoint checks (POST /v1/endpoints/validate, and the warning of a new subscription whose endpoint is unreachable). */
  endpoints: EndpointChecker;
  clock: Clock;
  /** Load tests of a tenant's own webhook endpoints (POST /v1/subscriptions/:id/loadtest). */
  loadTests: LoadTestService;
  /** Each tenant's SLA targets (GET /v1/analytics/sla): the product's for now, per plan later. */
  slaTargets: SlaTargetSource;
  /** `hookhub tunnel`: the tunnels, and their clients connected to this process. */
  tunnels: { service: TunnelService; clients: TunnelClients };
  /** The plans and each tenant's plan (limits, rates, usage). */
  plans: PlanBook;
  /** This month's delivered events per tenant. */
  quota: Pick<QuotaMeter, 'used'>;
  metrics: HubMetrics;
  logger: Logger;
}
