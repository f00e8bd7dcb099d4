// Over 300 lines: the composition root builds every part and wires them in the order they depend on each other; it holds no domain logic.
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Express } from 'express';
import type { ScheduledTask } from 'node-cron';
import express from 'express';
import { createApp } from './api/app';
import { healthRoutes } from './api/routes/health';
import type { AuditTrail } from './api/audit';
import type { HubConfig } from './config/config';
import { newId, sha256Hex } from './core/ids';
import { createLogger } from './core/logger';
import type { Logger } from './core/logger';
import { HubMetrics } from './core/metrics';
import { SecretBox } from './core/secret-box';
import { DEFAULT_SANDBOX_OPTIONS, configureSandbox } from './core/sandbox/expression-sandbox';
import type { ExpressionSandbox } from './core/sandbox/expression-sandbox';
import type { Broker, ConsumeOptions, Consumer } from './broker/port';
import { AmqpBroker } from './broker/amqp/amqp-broker';
import { MemoryBroker } from './broker/memory/memory-broker';
import { AttemptRecorder } from './pipeline/attempt-recorder';
import { DeliveryStatsWriter } from './pipeline/delivery-stats-writer';
import { planSlaTargets } from './pipeline/sla-targets';
import { DeliveryWorker } from './pipeline/delivery-worker';
import { OrderedDelivery } from './pipeline/ordered-delivery';
import { HealthMonitor } from './pipeline/health-monitor';
import { SlaMonitor } from './pipeline/sla-monitor';
import { HealthTally } from './pipeline/health-tally';
import { HealthReader } from './pipeline/health-view';
import { HttpSender } from './transport/http-sender';
import { OperationalEvents } from './events/operational-events';
import { PoisonAlarm } from './pipeline/poison-alarm';
import { PayloadBuilder } from './webhooks/payload';
import { ReplayService } from './pipeline/replay-service';
import { ResendService } from './pipeline/resend-service';
import { TestSender } from './pipeline/test-sender';
import { EventInspector } from './pipeline/inspector';
import { EndpointChecker } from './transport/endpoint-check';
import { LoadTestService } from './subscriptions/load-test-service';
import { EventValidator } from './events/validator';
import { EventIntake } from './events/intake';
import { scheduleConsoleSessionPurge, scheduleOAuthStatePurge, schedulePurge, scheduleRateSlotPurge } from './jobs/purge-job';
import { ConnectionJobs } from './jobs/connection-jobs';
import { ReadbackJob } from './jobs/readback-job';
import { ExportJob } from './jobs/export-job';
import { ConnectionExportService } from './integrations/connection-exports';
import { RecordTracker } from './integrations/record-tracker';
import { assertKeysPresent } from './secrets/key-ring';
import { OAuthLinker } from './integrations/oauth-linker';
import { TokenManager } from './integrations/token-manager';
import { ConnectionVault } from './integrations/connection-vault';
import { announceAppCredentialsFailed, announceGrantLost } from './integrations/grant-lost';
import { announceLinkBroken } from './integrations/link-broken';
import { SyncStats } from './integrations/sync-stats';
import { EventRouter } from './pipeline/event-router';
import { SubscriptionMatcher } from './pipeline/matcher';
import type { Store } from './store/store';
import { createMemoryStore } from './store/memory/memory-store';
import { createMongoStore } from './store/mongo/mongo-store';
import { SubscriptionCache } from './subscriptions/subscription-cache';
import { SubscriptionService } from './subscriptions/subscription-service';
import { ConnectionService } from './integrations/connection-service';
import { systemClock } from './core/clock';
import { HttpTransport, IntegrationTarget } from './integrations/integration-target';
import { ConnectionPacer } from './integrations/paced-transport';
import { DeliveryTargets } from './pipeline/targets';
import { WebhookTarget } from './webhooks/webhook-target';
import { RelayClients, RelayTarget } from './webhooks/relay-target';
import { RelayService } from './subscriptions/relay-service';
import { LISTEN_PATH, ListenSocket } from './api/listen-socket';
import { TUNNEL_PATH, TunnelSocket } from './api/tunnel-socket';
import { upgradeRoutes } from './api/hub-socket';
import { TunnelClients } from './tunnels/tunnel-connection';
import { TunnelService } from './tunnels/tunnel-service';
import { scheduleRelaySweep } from './jobs/relay-sweep';
import { IntegrationService } from './integrations/integration-service';
import { TenantSettingsService } from './integrations/tenant-settings';
import { formatProblem } from './connectors/loader';
import { ConnectorRegistry } from './connectors/registry';
import { ConnectorRuntime } from './connectors/runtime';
import { loadPlans } from './plans/loader';
import { PlanBook } from './plans/plan-book';
import { slaTargetsFor } from './plans/sla';
import { PlanGuard } from './plans/plan-guard';
import type { PlannedSubscription } from './plans/plan-guard';
import { QuotaMeter } from './plans/quota-meter';
import { QuotaResume } from './jobs/quota-resume';

export interface HubOptions {
  logger?: Logger;
  /** Use these adapters instead of the ones the config names (tests). */
  broker?: Broker;
  store?: Store;
}

/**
 * The composition root: builds the adapters the config asks for, wires the
 * domain to them, starts the roles, and stops everything in order.
 */
export class Hub {
  readonly logger: Logger;
  readonly broker: Broker;
  readonly store: Store;
  readonly metrics = new HubMetrics();
  readonly app: Express;
  private readonly audit: AuditTrail;
  readonly subscriptions: SubscriptionService;
  readonly connectors: ConnectorRegistry;
  readonly connections: ConnectionService;
  /** Connections as stored, their secrets sealed: the token manager's credential store. */
  readonly vault: ConnectionVault;
  readonly tokens: TokenManager;
  readonly connectionJobs: ConnectionJobs;
  /** Reads back what became of the records connections created in CRMs (the pipeline funnel). */
  readonly readback: ReadbackJob;
  /** Runs exports of past events into linked accounts (POST /v1/connections/:id/export). */
  readonly exports: ExportJob;
  private readonly syncStats: SyncStats;
  private readonly secretBox: SecretBox;
  private readonly recorder: AttemptRecorder;
  /** This process's attempt counts for endpoint health, and the monitor judging them (jobs role). */
  private readonly healthTally: HealthTally;
  readonly healthMonitor: HealthMonitor;
  /** Judges each tenant's SLA attainment against its plan and announces breaches (jobs role). */
  readonly slaMonitor: SlaMonitor;
  private readonly sender: HttpSender;
  private readonly router: EventRouter;
  private readonly worker: DeliveryWorker;
  private readonly ordered: OrderedDelivery;
  private readonly poisonAlarm: PoisonAlarm;
  private readonly consumers: Consumer[] = [];
  private readonly inFlight = new Set<Promise<unknown>>();
  private server: Server | null = null;
  /** `hookhub listen` clients connected to this process, and the WebSocket endpoint they connect to. */
  private readonly listen: ListenSocket;
  private readonly relays: RelayService;
  /** `hookhub tunnel` clients connected to this process, and the WebSocket endpoint they connect to. */
  private readonly tunnel: TunnelSocket;
  private cronTasks: ScheduledTask[] = [];
  /** Where every tenant expression is evaluated (one per process, shared by the hubs in it). */
  readonly sandbox: ExpressionSandbox;
  /** The plans (config/plans.yaml or HOOKHUB_PLANS_FILE) and each tenant's plan. */
  readonly plans: PlanBook;
  /** Monthly delivered events per tenant: warnings, and the pause of plans that pause. */
  readonly quota: QuotaMeter;
  private readonly quotaResume: QuotaResume;

  constructor(
    readonly config: HubConfig,
    options: HubOptions = {},
  ) {
    this.logger = options.logger ?? createLogger({ level: config.logLevel });
    this.sandbox = configureSandbox({ ...DEFAULT_SANDBOX_OPTIONS, ...config.sandbox });
    this.metrics.watchSandbox(() => this.sandbox.stats());
    this.metrics.watchQueues(() => this.broker.queueDepths());
    this.broker =
      options.broker ??
      (config.amqpUrl
        ? new AmqpBroker({ url: config.amqpUrls, prefix: config.queuePrefix, logger: this.logger, orderedShards: config.delivery.orderedShards })
        : new MemoryBroker({ orderedShards: config.delivery.orderedShards }));
    this.store = options.store ?? (config.mongodbUrl ? createMongoStore({ url: config.mongodbUrl }) : createMemoryStore());
    const secretBox = new SecretBox(config.encryptionKeys);
    this.secretBox = secretBox;
    // A plans file that cannot be used stops the hub here, naming the file and each problem.
    this.plans = new PlanBook({
      catalog: loadPlans(config.plans.file, { name: config.plans.defaultPlan, variable: 'HOOKHUB_DEFAULT_PLAN' }),
      defaultPlan: config.plans.defaultPlan,
      store: this.store,
      cacheMs: config.plans.cacheMs,
      maxCached: config.plans.maxCachedTenants,
      logger: this.logger,
    });
    const planGuard = new PlanGuard(this.plans, this.store);
    const validator = new EventValidator();
    const cache = new SubscriptionCache(this.store, secretBox, undefined, undefined, config.memory.cacheEntries);
    const payloads = new PayloadBuilder();
    this.sender = new HttpSender({
      timeoutMs: config.delivery.timeoutMs,
      allowPrivateNetworks: config.allowPrivateNetworks,
      connectionsPerOrigin: config.delivery.perEndpointConcurrency,
      maxTargets: config.memory.cacheEntries,
      maxAgents: config.memory.httpAgents,
    });
    this.subscriptions = new SubscriptionService({
      store: this.store,
      secretBox,
      cache,
      allowPrivateNetworks: config.allowPrivateNetworks,
      requireHttps: config.production,
      checkPlan: (tenantId, change) => planGuard.checkSubscription(tenantId, change as PlannedSubscription),
    });
    this.connectors = new ConnectorRegistry({ dir: config.connectors.dir, logger: this.logger });
    const runtime = new ConnectorRuntime();
    const operational = new OperationalEvents(this.broker, this.logger);
    this.quota = new QuotaMeter({
      book: this.plans,
      counters: this.store,
      operational,
      processId: newId('proc'),
      flushMs: config.plans.usageFlushMs,
      maxTenants: config.plans.maxCachedTenants,
      logger: this.logger,
    });
    this.poisonAlarm = new PoisonAlarm({ metrics: this.metrics, logger: this.logger, operational });
    const vault = new ConnectionVault({ store: this.store, secretBox, registry: this.connectors });
    this.vault = vault;
    this.tokens = new TokenManager({
      credentials: vault,
      leases: this.store,
      apps: config,
      // The connection is marked needs_reauth by then; its tenant hears of it.
      onGrantLost: announceGrantLost(operational),
      // The hub's own client was refused: operators get the error log and /readyz; tenants hear that nothing is asked of them.
      onAppCredentialsFailed: announceAppCredentialsFailed(operational),
      logger: this.logger,
    });
    // rate_limit and concurrency per connection (rate_limit.shared: one connector-wide rate for every process, in the store's
    // rate slots), taken by deliveries and by the links' own checks and who-am-I reads alike.
    const pacer = new ConnectionPacer(this.store, systemClock);
    this.connections = new ConnectionService({
      store: this.store,
      vault,
      tokens: this.tokens,
      registry: this.connectors,
      runtime,
      transport: new HttpTransport(this.sender),
      pacer,
      production: config.production,
      allowPrivateNetworks: config.allowPrivateNetworks,
      connectorEnv: config.connectorEnv,
      onBroken: announceLinkBroken(operational),
      checkPlan: (tenantId, connector) => planGuard.checkConnection(tenantId, connector),
      // A broken or unlinked connection fixed with new settings or credentials: its parked deliveries are replayed.
      onRepaired: async (connection) => {
        await replays.resumeParked(connection.tenantId, connection.id);
      },
    });
    this.syncStats = new SyncStats(this.store, this.logger);
    this.connectionJobs = new ConnectionJobs({
      store: this.store,
      connections: this.connections,
      tokens: this.tokens,
      logger: this.logger,
      healthCheckMinutes: config.oauth.healthCheckMinutes,
    });
    this.readback = new ReadbackJob({
      records: this.store,
      leases: this.store,
      connections: this.connections,
      tokens: this.tokens,
      pacer,
      transport: new HttpTransport(this.sender),
      operational,
      logger: this.logger,
    });
    this.exports = new ExportJob({
      exports: this.store,
      events: this.store,
      leases: this.store,
      refs: this.store,
      connections: this.connections,
      tokens: this.tokens,
      runtime,
      pacer,
      transport: new HttpTransport(this.sender),
      logger: this.logger,
    });
    const replays = new ReplayService(this.store, this.broker, this.logger);
    this.quotaResume = new QuotaResume({ counters: this.store, meter: this.quota, resume: (tenantId) => replays.resumeQuotaParked(tenantId), logger: this.logger });
    // An upgrade (API, or the directory's event) resumes what the old plan's quota parked, here and now.
    this.plans.onChange(async (tenantId) => {
      await this.quotaResume.resumeTenant(tenantId);
    });
    const linker = new OAuthLinker({
      store: this.store,
      secretBox,
      registry: this.connectors,
      connections: this.connections,
      config,
      // After an account is linked again, its parked deliveries are replayed (same webhook ids).
      onRelinked: async (connection) => {
        await replays.resumeParked(connection.tenantId, connection.id);
      },
    });
    const integrations = new IntegrationService({ store: this.store, cache, subscriptions: this.subscriptions, connections: this.connections });
    // Relays name the process holding their client, and delivery stats rows their writer; each Hub is one (tests run several in one Node process).
    const holder = newId('hub');
    this.recorder = new AttemptRecorder({
      store: this.store,
      logger: this.logger,
      stats: new DeliveryStatsWriter({ store: this.store, writer: holder, metrics: this.metrics, logger: this.logger, flushMs: config.analyticsFlushMs }),
    });
    this.healthTally = new HealthTally({
      log: this.store,
      clock: systemClock,
      logger: this.logger,
      sliceMs: config.health.sliceMs,
      flushMs: config.health.flushMs,
      failureMemory: config.health.failingAfterFailures,
      maxPending: config.memory.cacheEntries,
    });
    this.healthMonitor = new HealthMonitor({
      log: this.store,
      leases: this.store,
      subscriptions: this.store,
      disableSubscription: (tenantId, id, reason) => this.subscriptions.disable(tenantId, id, reason),
      operational,
      settings: config.health,
      clock: systemClock,
      logger: this.logger,
    });
    this.slaMonitor = new SlaMonitor({
      stats: this.store,
      notices: this.store,
      leases: this.store,
      targetsOf: async (tenantId) => {
        const { plan } = await this.plans.planOf(tenantId);
        return { plan: plan.name, targets: slaTargetsFor(plan) };
      },
      operational,
      settings: config.plans.slaCheck,
      clock: systemClock,
      logger: this.logger,
    });
    const matcher = new SubscriptionMatcher();
    // One intake for events posted to the API and events read from the queue.
    const intake = new EventIntake({ validator, invalidEvents: this.store, metrics: this.metrics });
    this.router = new EventRouter({
      broker: this.broker,
      store: this.store,
      intake,
      subscriptions: cache,
      matcher,
      metrics: this.metrics,
      logger: this.logger,
      // user.subscription_changed moves the user's tenant to the plan of its new tier.
      reactions: [(envelope) => this.plans.applyDirectoryEvent(envelope)],
    });
    const relayClients = new RelayClients();
    this.relays = new RelayService({ store: this.store, secretBox, cache, subscriptions: this.subscriptions });
    this.listen = new ListenSocket({
      enabled: config.relays,
      keys: this.store,
      relays: this.relays,
      clients: relayClients,
      holder,
      answerTimeoutMs: config.delivery.timeoutMs + 5000,
      logger: this.logger,
    });
    const tunnels = new TunnelService(this.store);
    const tunnelClients = new TunnelClients();
    this.worker = new DeliveryWorker({
      broker: this.broker,
      store: this.store,
      subscriptions: cache,
      // One registration per kind of subscription; the worker picks by kind.
      targets: new DeliveryTargets()
        .register(
          'webhook',
          new WebhookTarget({
            sender: this.sender,
            payloads,
            store: this.store,
            requestBodyBytes: config.delivery.requestBodyBytes,
            planRate: async (tenantId) => (await this.plans.planOf(tenantId)).plan.limits.deliveriesPerSecondPerSubscription,
          }),
        )
        .register('relay', new RelayTarget({ payloads, clients: relayClients, holder }))
        .register(
          'integration',
          new IntegrationTarget({
            connections: this.connections,
            tokens: this.tokens,
            runtime,
            sender: this.sender,
            store: this.store,
            stats: this.syncStats,
            registry: this.connectors,
            tracker: new RecordTracker(this.store, this.logger),
            pacer,
          }),
        ),
      recorder: this.recorder,
      health: this.healthTally,
      operational,
      metrics: this.metrics,
      logger: this.logger,
      perEndpointConcurrency: config.delivery.perEndpointConcurrency,
      maxEndpoints: config.memory.cacheEntries,
      matcher,
      admission: this.quota,
      disableSubscription: (tenantId, id, reason) => this.subscriptions.disable(tenantId, id, reason),
    });
    this.ordered = new OrderedDelivery({ worker: this.worker, lanes: this.store, deliveries: this.store, broker: this.broker, logger: this.logger });
    const api = createApp({
      config,
      store: this.store,
      broker: this.broker,
      operational,
      intake,
      subscriptions: this.subscriptions,
      connectors: this.connectors,
      connections: this.connections,
      integrations,
      exports: new ConnectionExportService(this.store, this.connections),
      replays,
      resends: new ResendService(this.store, this.broker),
      health: new HealthReader(this.store, config.health, systemClock),
      oauth: linker,
      settings: new TenantSettingsService(this.store, config),
      tokens: this.tokens,
      tester: new TestSender(validator, payloads, this.sender, secretBox, this.recorder, config.delivery.requestBodyBytes),
      inspector: new EventInspector({ intake, store: this.store, matcher, payloads, secretBox }),
      endpoints: new EndpointChecker({
        timeoutMs: config.endpointCheck.timeoutMs,
        allowPrivateNetworks: config.allowPrivateNetworks,
        requireHttps: config.production,
        deliveryTimeoutMs: config.delivery.timeoutMs,
      }),
      clock: systemClock,
      loadTests: new LoadTestService(this.subscriptions, this.store, this.sender, secretBox, config.loadtest.maxRate),
      // Each tenant's SLA targets are its plan's (the product's for a plan that names none).
      slaTargets: async (tenantId) => planSlaTargets((await this.plans.planOf(tenantId)).plan),
      tunnels: { service: tunnels, clients: tunnelClients },
      plans: this.plans,
      quota: this.quota,
      metrics: this.metrics,
      logger: this.logger,
    });
    this.app = api.app;
    this.audit = api.audit;
    this.tunnel = new TunnelSocket({
      enabled: config.tunnels.enabled,
      keys: this.store,
      tunnels,
      clients: tunnelClients,
      audit: this.audit,
      holder,
      publicUrl: config.publicUrl,
      timeoutMs: config.tunnels.timeoutMs,
      requestsPerMinute: config.tunnels.requestsPerMinute,
      maxBodyBytes: config.api.maxBodyBytes,
      clock: systemClock,
      logger: this.logger,
    });
  }

  get port(): number {
    return (this.server?.address() as AddressInfo | null)?.port ?? 0;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    const { config } = this;
    this.logger.info(
      config.mode === 'embedded'
        ? 'embedded mode: in-process broker and store, nothing is kept after exit (set AMQP_URL and MONGODB_URL to use RabbitMQ and MongoDB)'
        : `services mode: RabbitMQ and MongoDB`,
    );
    await this.loadConnectors();
    this.sandbox.warm();
    await this.store.connect();
    await assertKeysPresent(this.store, this.secretBox);
    await this.broker.start();
    if (config.apiKey) {
      await this.store.upsertApiKey({ hash: sha256Hex(config.apiKey), tenantId: 'default', name: 'bootstrap', createdAt: new Date() });
    }
    const consuming: ConsumeOptions = {
      prefetch: config.delivery.prefetch,
      onPoisoned: (poisoned) => this.poisonAlarm.raise(poisoned),
      // Failures during a store outage must not make healthy messages poison.
      dependenciesAnswer: () => this.store.ping().then(() => true, () => false),
    };
    if (config.roles.has('router')) {
      this.consumers.push(await this.broker.consumeEvents((e) => this.track(this.router.handle(e)), consuming));
    }
    if (config.roles.has('worker')) {
      this.quota.start();
      this.consumers.push(await this.broker.consumeDeliveries((j, h) => this.track(this.worker.handle(j, h)), consuming));
      this.consumers.push(await this.broker.consumeOrderedDeliveries((j, h) => this.track(this.ordered.handle(j, h)), consuming));
    }
    if (config.roles.has('jobs')) {
      this.cronTasks.push(schedulePurge(this.store, config.retention.attemptsDays, this.logger, { defaultPlan: this.plans.defaultPlan, plans: this.plans.plans(), tenants: this.store }));
      this.cronTasks.push(scheduleRateSlotPurge(this.store, this.logger));
      this.cronTasks.push(scheduleOAuthStatePurge(this.store, this.logger));
      this.cronTasks.push(scheduleConsoleSessionPurge(this.store, this.logger));
      this.cronTasks.push(...this.connectionJobs.schedule());
      this.cronTasks.push(this.readback.schedule());
      this.cronTasks.push(scheduleRelaySweep(this.relays, this.logger));
      this.cronTasks.push(this.exports.schedule());
      this.cronTasks.push(this.quotaResume.schedule());
      this.healthMonitor.start();
      this.slaMonitor.start();
    }
    if (config.roles.has('api')) {
      await new Promise<void>((resolve, reject) => {
        const server = this.app.listen(config.port, config.host, (err?: Error) => (err ? reject(err) : resolve()));
        server.on('upgrade', upgradeRoutes({ [LISTEN_PATH]: this.listen.upgrade, [TUNNEL_PATH]: this.tunnel.upgrade }));
        this.server = server;
      });
      this.logger.info({ url: `http://${config.host}:${this.port}` }, 'Hookhub API listening');
    } else if (config.opsPort !== null) {
      // Routers, workers and jobs have no API, but their health and metrics are still scraped.
      const ops = express();
      ops.disable('x-powered-by');
      ops.use(healthRoutes({ broker: this.broker, store: this.store, config, metrics: this.metrics, tokens: this.tokens }));
      await new Promise<void>((resolve, reject) => {
        this.server = ops.listen(config.opsPort ?? 0, config.host, (err?: Error) => (err ? reject(err) : resolve()));
      });
      this.logger.info({ url: `http://${config.host}:${this.port}`, paths: ['/healthz', '/readyz', '/metrics'] }, 'Hookhub operations endpoints listening');
    }
    this.logger.info({ roles: [...config.roles], mode: config.mode }, 'Hookhub started');
  }

  /** Graceful stop: no new work, in-flight work finished (or left unacked for redelivery), then close. */
  async stop(): Promise<void> {
    for (const task of this.cronTasks) await task.stop();
    await this.healthMonitor.stop();
    await this.slaMonitor.stop();
    const server = this.server;
    const closing = server ? new Promise<void>((resolve) => server.close(() => resolve())) : Promise.resolve();
    server?.closeIdleConnections();
    await this.listen.close();
    await this.tunnel.close();
    for (const consumer of this.consumers.splice(0)) await consumer.cancel();
    await Promise.race([Promise.allSettled([...this.inFlight]), new Promise((r) => setTimeout(r, 35_000).unref())]);
    await this.router.drain();
    await this.recorder.drain();
    await this.quota.stop();
    await this.healthTally.close();
    await this.audit.drain();
    await this.syncStats.close();
    await closing;
    await this.broker.close();
    await this.sender.close();
    await this.store.close();
    await this.connectors.close();
  }

  /**
   * Loads connector manifests. An invalid one stops a production hub; elsewhere
   * the hub starts without it and says why (and, when watching, picks up the fix).
   */
  private async loadConnectors(): Promise<void> {
    this.connectors.load();
    const problems = this.connectors.problems;
    if (problems.length > 0 && this.config.production) {
      throw new Error(`Invalid connector manifests; fix them (npx hookhub connectors validate) and start again:\n${problems.map((p) => `  ${formatProblem(p)}`).join('\n')}`);
    }
    this.connectors.onReload(() => this.connections.invalidate());
    if (this.config.connectors.watch) await this.connectors.watch();
    this.logger.info({ dir: this.config.connectors.dir }, `connectors: ${this.connectors.list().map((c) => `${c.manifest.name}@${c.manifest.version}`).join(', ') || 'none'}`);
  }

  private track<T>(work: Promise<T>): Promise<T> {
    this.inFlight.add(work);
    void work.finally(() => this.inFlight.delete(work)).catch(() => undefined);
    return work;
  }
}
