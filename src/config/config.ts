import { randomBytes } from 'node:crypto';
import path from 'node:path';
import ipaddr from 'ipaddr.js';
import { parseAmqpUrls } from './amqp-urls';

/** connectors/ of the package: where the hub finds its connector manifests unless told otherwise. */
export const DEFAULT_CONNECTORS_DIR = path.resolve(__dirname, '..', '..', 'connectors');

/** config/plans.yaml of the package: the plans unless HOOKHUB_PLANS_FILE names another file. */
export const DEFAULT_PLANS_FILE = path.resolve(__dirname, '..', '..', 'config', 'plans.yaml');
/** dist/console of the package: where `npm run build` puts the web console (the same from src/ and dist/). */
export const DEFAULT_CONSOLE_DIR = path.resolve(__dirname, '..', '..', 'dist', 'console');

export type RunMode = 'embedded' | 'services';
export type Role = 'api' | 'router' | 'worker' | 'jobs';

export interface HubConfig {
  readonly mode: RunMode;
  readonly production: boolean;
  readonly port: number;
  readonly host: string;
  /** HOOKHUB_OPS_PORT: where a process without the api role serves /healthz, /readyz and /metrics (null: it serves no HTTP). */
  readonly opsPort: number | null;
  /** AMQP_URL as given: one URL, or a comma-separated list of a cluster's nodes. */
  readonly amqpUrl: string | null;
  /** Its URLs, in the order given (each process starts at a random one of them); empty in embedded mode. */
  readonly amqpUrls: readonly string[];
  readonly mongodbUrl: string | null;
  /** Bootstrap API key of the tenant `default`; null when none was given outside embedded mode. */
  readonly apiKey: string | null;
  readonly apiKeyGenerated: boolean;
  readonly allowPrivateNetworks: boolean;
  /** The addresses deliveries leave from (HOOKHUB_EGRESS_IPS), published for receivers' allow-lists. */
  readonly egressIps: readonly string[];
  readonly encryptionKeys: ReadonlyArray<{ id: string; key: Buffer }>;
  readonly encryptionKeyGenerated: boolean;
  readonly roles: ReadonlySet<Role>;
  readonly logLevel: string;
  /** `hookhub listen` relays (HOOKHUB_RELAYS, default on): deliveries to a developer's CLI over a WebSocket. */
  readonly relays: boolean;
  /** `hookhub tunnel`: public URLs forwarded to a developer's CLI (README, "Developer tools → tunnel"). */
  readonly tunnels: {
    /** HOOKHUB_TUNNELS, default on. */
    readonly enabled: boolean;
    /** How long the local app may take before the caller gets 504 (HOOKHUB_TUNNEL_TIMEOUT_MS, default 30 s). */
    readonly timeoutMs: number;
    /** Requests a minute through one tunnel; more get 429 (HOOKHUB_TUNNEL_RATE_LIMIT, default 600). */
    readonly requestsPerMinute: number;
  };
  /** The web console at /console: where its built files are, and how long a sign-in lasts. */
  readonly console: {
    readonly dir: string;
    readonly sessionTtlSeconds: number;
  };
  readonly delivery: {
    readonly timeoutMs: number;
    readonly prefetch: number;
    readonly perEndpointConcurrency: number;
    /** Per-key ordering: how many ordered shards (queues); the same in every process of the hub. */
    readonly orderedShards: number;
    /** How much of each webhook request body its attempt record keeps (HOOKHUB_ATTEMPT_REQUEST_BODY_BYTES); 0 keeps none. */
    readonly requestBodyBytes: number;
  };
  /**
   * Bounds of the process's in-memory lookups, so that memory does not grow with the number of
   * subscriptions, endpoints, API keys or network rules it has seen: HOOKHUB_CACHE_ENTRIES is the most
   * entries each cache keeps (subscriptions, checked endpoint URLs, per-endpoint limiter and health
   * state, API key use, rate-limit windows); HOOKHUB_HTTP_AGENTS the most connection pools kept for
   * subscriptions with network rules of their own (allowedIps, mutual TLS), oldest closed first.
   * HOOKHUB_HEAP_MB is the V8 old generation's ceiling the hub's start gives node (`npm start`, the image's
   * CMD: --max-old-space-size, beside the flags that keep garbage small); the process checks at start that
   * it runs with them.
   */
  readonly memory: { readonly cacheEntries: number; readonly httpAgents: number; readonly heapMb: number };
  /** POST /v1/subscriptions/:id/loadtest: the highest rate a tenant may ask for (HOOKHUB_LOADTEST_MAX_RATE, requests a second). */
  readonly loadtest: { readonly maxRate: number };
  /**
   * POST /v1/endpoints/validate and the check of a new subscription's endpoint: the longest a check takes
   * (HOOKHUB_ENDPOINT_CHECK_TIMEOUT_MS), and whether creating a subscription checks that its endpoint
   * accepts connections (HOOKHUB_ENDPOINT_CHECK_ON_CREATE; a warning in the answer, creation succeeds anyway).
   */
  readonly endpointCheck: { readonly timeoutMs: number; readonly onCreate: boolean };
  /** Where tenant JSONata runs: separate processes with a heap ceiling and a hard deadline per evaluation. */
  readonly sandbox: {
    readonly processes: number;
    readonly timeoutMs: number;
    readonly memoryMb: number;
  };
  readonly queuePrefix: string;
  readonly retention: { readonly attemptsDays: number };
  /** How often delivery analytics are written: counts summed in memory meanwhile (HOOKHUB_ANALYTICS_FLUSH). */
  readonly analyticsFlushMs: number;
  /** Endpoint health monitoring: the window, thresholds and timings (HOOKHUB_HEALTH_*, HOOKHUB_AUTO_DISABLE_AFTER). */
  readonly health: {
    readonly windowMs: number;
    readonly sliceMs: number;
    readonly minAttempts: number;
    /** 0–1. */
    readonly minSuccessRate: number;
    readonly maxP95Ms: number;
    readonly failingAfterFailures: number;
    readonly failingAfterMs: number;
    /** null: never disable. */
    readonly autoDisableAfterMs: number | null;
    readonly flushMs: number;
    readonly evaluateMs: number;
  };
  /** The management API's guards. */
  readonly api: {
    /** Requests per minute per API key (HOOKHUB_API_RATE_LIMIT). */
    readonly rateLimitPerMinute: number;
    /** Larger request bodies are refused with 413 (HOOKHUB_MAX_BODY_BYTES). */
    readonly maxBodyBytes: number;
    /** Events published per second per tenant, for plans that name no rate (HOOKHUB_INGEST_RATE_LIMIT). */
    readonly ingestPerSecond: number;
    /** Failed authentications per client address per minute before its requests are refused (HOOKHUB_AUTH_FAILURE_LIMIT); 0: no limit. */
    readonly authFailuresPerMinute: number;
    /** Which proxies in front may name the client's address in X-Forwarded-For (HOOKHUB_TRUST_PROXY): express's `trust proxy`. */
    readonly trustProxy: boolean | number | string;
  };
  /** Tenants' plans: limits, features, quotas and rates. */
  readonly plans: {
    /** The plans file (HOOKHUB_PLANS_FILE), checked against schemas/plans.schema.json at start. */
    readonly file: string;
    /** The plan of a tenant that has none of its own (HOOKHUB_DEFAULT_PLAN). */
    readonly defaultPlan: string;
    /** How long a process keeps a tenant's plan before reading it again (HOOKHUB_PLAN_CACHE_MS). */
    readonly cacheMs: number;
    /** How often usage counts are written and read back (HOOKHUB_USAGE_FLUSH_MS). */
    readonly usageFlushMs: number;
    /** Most tenants whose plan and usage one process keeps in memory (HOOKHUB_PLAN_CACHE_TENANTS). */
    readonly maxCachedTenants: number;
    /** The jobs role's check of each tenant's SLA attainment against its plan (HOOKHUB_SLA_CHECK_*). */
    readonly slaCheck: { readonly intervalMs: number; readonly windowMs: number; readonly minDeliveries: number };
  };
  /** Where browsers reach this hub (OAuth callbacks): HOOKHUB_PUBLIC_URL, default http://localhost:<PORT>. */
  readonly publicUrl: string;
  /** Per-connector settings from the environment (HOOKHUB_<CONNECTOR>_CLIENT_ID, ...), by variable name. */
  readonly connectorEnv: Readonly<Record<string, string>>;
  /**
   * A variable of the environment the config was read from, by name: for the variables connector
   * manifests name for their OAuth app (client_id_env, client_secret_env), known only once they load.
   */
  readonly connectorVariable: (name: string) => string | undefined;
  readonly oauth: {
    /** Minutes between connection health checks by the jobs role. */
    readonly healthCheckMinutes: number;
    /**
     * Origins a linking flow may send the browser back to (redirectAfter), from HOOKHUB_OAUTH_REDIRECT_ORIGINS
     * (comma-separated, e.g. https://app.example.com); empty: any http(s) origin (https only in production).
     */
    readonly redirectOrigins: readonly string[];
  };
  readonly connectors: {
    /** Where connector manifests live (connectors/<name>/connector.yaml). */
    readonly dir: string;
    /** Reload manifests when they change (embedded mode by default). */
    readonly watch: boolean;
  };
}

export class ConfigError extends Error {
  readonly problems: readonly string[];
  constructor(problems: readonly string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

type Env = Record<string, string | undefined>;

const ROLES: readonly Role[] = ['api', 'router', 'worker', 'jobs'];

/** The connectors directory: HOOKHUB_CONNECTORS_DIR, else the connectors/ of this installation. Also the CLI's default. */
export function connectorsDir(env: Env = process.env): string {
  const value = env['HOOKHUB_CONNECTORS_DIR']?.trim();
  return path.resolve(value === undefined || value === '' ? DEFAULT_CONNECTORS_DIR : value);
}

/**
 * Reads the environment once into a frozen config. Every bad variable is
 * collected and reported together, so one start-up attempt shows all of them.
 */
export function loadConfig(env: Env = process.env): HubConfig {
  const problems: string[] = [];
  const str = (name: string): string | undefined => {
    const value = env[name]?.trim();
    return value === undefined || value === '' ? undefined : value;
  };
  const int = (name: string, fallback: number, min: number, max: number): number => {
    const raw = str(name);
    if (raw === undefined) return fallback;
    const value = Number(raw);
    if (!Number.isInteger(value) || value < min || value > max) {
      problems.push(`${name}="${raw}" must be a whole number from ${min} to ${max}.`);
      return fallback;
    }
    return value;
  };
  // A duration such as 250ms, 30s, 15m, 2h or 5d (a bare number is milliseconds).
  const duration = (name: string, fallbackMs: number, minMs: number, maxMs: number): number => {
    const raw = str(name);
    if (raw === undefined) return fallbackMs;
    const ms = parseDuration(raw);
    if (ms === null || ms < minMs || ms > maxMs) {
      problems.push(`${name}="${raw}" must be a duration from ${minMs} ms to ${maxMs} ms, such as 250ms, 30s, 15m, 2h or 5d.`);
      return fallbackMs;
    }
    return ms;
  };
  const bool = (name: string, fallback: boolean): boolean => {
    const raw = str(name);
    if (raw === undefined) return fallback;
    if (/^(true|1|yes)$/i.test(raw)) return true;
    if (/^(false|0|no)$/i.test(raw)) return false;
    problems.push(`${name}="${raw}" must be true or false.`);
    return fallback;
  };

  const amqpUrl = str('AMQP_URL') ?? null;
  const mongodbUrl = str('MONGODB_URL') ?? null;
  const amqp = amqpUrl === null ? { urls: [], problems: [] } : parseAmqpUrls(amqpUrl);
  problems.push(...amqp.problems);
  if (mongodbUrl && !/^mongodb(\+srv)?:\/\//.test(mongodbUrl)) {
    problems.push(`MONGODB_URL must start with mongodb:// or mongodb+srv:// (got a value that does not).`);
  }
  if ((amqpUrl === null) !== (mongodbUrl === null)) {
    problems.push(
      'Set both AMQP_URL and MONGODB_URL to run on RabbitMQ and MongoDB, or neither to run in embedded mode.',
    );
  }
  const mode: RunMode = amqpUrl && mongodbUrl ? 'services' : 'embedded';
  const production = env['NODE_ENV'] === 'production';
  if (production && mode === 'embedded') {
    problems.push('NODE_ENV=production needs AMQP_URL and MONGODB_URL: embedded mode keeps everything in memory.');
  }

  let apiKey = str('HOOKHUB_API_KEY') ?? null;
  let apiKeyGenerated = false;
  if (apiKey !== null && apiKey.length < 16) problems.push('HOOKHUB_API_KEY must be at least 16 characters long.');
  if (apiKey === null && mode === 'embedded') {
    apiKey = `hh_${randomBytes(24).toString('base64url')}`;
    apiKeyGenerated = true;
  }

  // One variable, HOOKHUB_ENCRYPTION_KEYS, takes one key or the ring; HOOKHUB_ENCRYPTION_KEY, its
  // older name, is still read the same way so that existing deployments keep their data readable.
  const keysVar = str('HOOKHUB_ENCRYPTION_KEYS');
  const keyVar = str('HOOKHUB_ENCRYPTION_KEY');
  if (keysVar !== undefined && keyVar !== undefined && keysVar !== keyVar) {
    problems.push(
      'HOOKHUB_ENCRYPTION_KEYS and HOOKHUB_ENCRYPTION_KEY (its older name) are both set, to different values: ' +
        'set only HOOKHUB_ENCRYPTION_KEYS, not both (it takes one key or the ring id:key,...).',
    );
  }
  const encryptionKeys = parseEncryptionKeys(keysVar ?? keyVar, keysVar !== undefined ? 'HOOKHUB_ENCRYPTION_KEYS' : 'HOOKHUB_ENCRYPTION_KEY', problems);
  let encryptionKeyGenerated = false;
  if (encryptionKeys.length === 0) {
    if (mode === 'embedded') {
      encryptionKeys.push({ id: 'k1', key: randomBytes(32) });
      encryptionKeyGenerated = true;
    } else if (keysVar === undefined && keyVar === undefined) {
      problems.push(
        'HOOKHUB_ENCRYPTION_KEYS is required with AMQP_URL/MONGODB_URL: one key of 32 random bytes in base64 ' +
          '(generate one with `openssl rand -base64 32`), or a key ring id:key,... (newest last). Secrets are never stored in plaintext.',
      );
    }
  }

  const rolesRaw = str('HOOKHUB_ROLES');
  const roles = new Set<Role>();
  for (const role of (rolesRaw ?? ROLES.join(',')).split(',').map((r) => r.trim())) {
    if ((ROLES as readonly string[]).includes(role)) roles.add(role as Role);
    else problems.push(`HOOKHUB_ROLES contains "${role}"; allowed roles are ${ROLES.join(', ')}.`);
  }

  const config: HubConfig = {
    mode,
    production,
    port: int('PORT', 3000, 0, 65535),
    opsPort: str('HOOKHUB_OPS_PORT') === undefined ? null : int('HOOKHUB_OPS_PORT', 0, 0, 65535),
    host: str('HOST') ?? '0.0.0.0',
    amqpUrl,
    amqpUrls: amqp.urls,
    mongodbUrl,
    apiKey,
    apiKeyGenerated,
    allowPrivateNetworks: bool('HOOKHUB_ALLOW_PRIVATE_NETWORKS', mode === 'embedded'),
    egressIps: (str('HOOKHUB_EGRESS_IPS') ?? '').split(',').map((ip) => ip.trim()).filter((ip) => ip !== ''),
    encryptionKeys,
    encryptionKeyGenerated,
    roles,
    logLevel: str('LOG_LEVEL') ?? 'info',
    relays: bool('HOOKHUB_RELAYS', true),
    tunnels: {
      enabled: bool('HOOKHUB_TUNNELS', true),
      timeoutMs: int('HOOKHUB_TUNNEL_TIMEOUT_MS', 30_000, 100, 300_000),
      requestsPerMinute: int('HOOKHUB_TUNNEL_RATE_LIMIT', 600, 1, 1_000_000),
    },
    console: {
      dir: path.resolve(str('HOOKHUB_CONSOLE_DIR') ?? DEFAULT_CONSOLE_DIR),
      sessionTtlSeconds: int('HOOKHUB_CONSOLE_SESSION_TTL_SECONDS', 12 * 3600, 60, 30 * 86_400),
    },
    delivery: {
      timeoutMs: int('HOOKHUB_DELIVERY_TIMEOUT_MS', 30_000, 100, 120_000),
      prefetch: int('HOOKHUB_PREFETCH', 200, 1, 5000),
      perEndpointConcurrency: int('HOOKHUB_ENDPOINT_CONCURRENCY', 64, 1, 1000),
      orderedShards: int('HOOKHUB_ORDERED_SHARDS', 16, 1, 256),
      requestBodyBytes: int('HOOKHUB_ATTEMPT_REQUEST_BODY_BYTES', 16_384, 0, 1_048_576),
    },
    memory: {
      cacheEntries: int('HOOKHUB_CACHE_ENTRIES', 10_000, 100, 10_000_000),
      httpAgents: int('HOOKHUB_HTTP_AGENTS', 500, 1, 100_000),
      heapMb: int('HOOKHUB_HEAP_MB', 512, 64, 65_536),
    },
    loadtest: { maxRate: int('HOOKHUB_LOADTEST_MAX_RATE', 200, 1, 10_000) },
    endpointCheck: {
      timeoutMs: int('HOOKHUB_ENDPOINT_CHECK_TIMEOUT_MS', 3000, 100, 60_000),
      onCreate: bool('HOOKHUB_ENDPOINT_CHECK_ON_CREATE', true),
    },
    sandbox: {
      processes: int('HOOKHUB_SANDBOX_PROCESSES', 2, 1, 64),
      timeoutMs: int('HOOKHUB_EXPRESSION_TIMEOUT_MS', 1000, 10, 60_000),
      memoryMb: int('HOOKHUB_SANDBOX_MEMORY_MB', 128, 32, 4096),
    },
    queuePrefix: str('HOOKHUB_QUEUE_PREFIX') ?? 'hookhub',
    retention: { attemptsDays: int('HOOKHUB_RETENTION_DAYS', 30, 1, 3650) },
    analyticsFlushMs: duration('HOOKHUB_ANALYTICS_FLUSH', 1000, 10, MINUTE_MS),
    health: {
      windowMs: duration('HOOKHUB_HEALTH_WINDOW', 5 * MINUTE_MS, 1000, DAY_MS),
      sliceMs: duration('HOOKHUB_HEALTH_SLICE', 10_000, 100, HOUR_MS),
      minAttempts: int('HOOKHUB_HEALTH_MIN_ATTEMPTS', 10, 1, 1_000_000),
      minSuccessRate: int('HOOKHUB_HEALTH_MIN_SUCCESS_PERCENT', 90, 0, 100) / 100,
      maxP95Ms: duration('HOOKHUB_HEALTH_MAX_P95', 5000, 1, 10 * MINUTE_MS),
      failingAfterFailures: int('HOOKHUB_HEALTH_FAILING_AFTER_FAILURES', 10, 1, 1000),
      failingAfterMs: duration('HOOKHUB_HEALTH_FAILING_AFTER', 15 * MINUTE_MS, 1000, 30 * DAY_MS),
      autoDisableAfterMs: /^(off|never)$/i.test(str('HOOKHUB_AUTO_DISABLE_AFTER') ?? '') ? null : duration('HOOKHUB_AUTO_DISABLE_AFTER', 5 * DAY_MS, 1000, 365 * DAY_MS),
      flushMs: duration('HOOKHUB_HEALTH_FLUSH', 2000, 50, MINUTE_MS),
      evaluateMs: duration('HOOKHUB_HEALTH_EVALUATE', 10_000, 100, 10 * MINUTE_MS),
    },
    api: {
      rateLimitPerMinute: int('HOOKHUB_API_RATE_LIMIT', 600, 1, 1_000_000),
      maxBodyBytes: int('HOOKHUB_MAX_BODY_BYTES', 1024 * 1024, 1024, 64 * 1024 * 1024),
      ingestPerSecond: int('HOOKHUB_INGEST_RATE_LIMIT', 1000, 1, 1_000_000),
      authFailuresPerMinute: int('HOOKHUB_AUTH_FAILURE_LIMIT', 60, 0, 1_000_000),
      trustProxy: trustProxyOf(str('HOOKHUB_TRUST_PROXY'), problems),
    },
    plans: {
      file: path.resolve(str('HOOKHUB_PLANS_FILE') ?? DEFAULT_PLANS_FILE),
      defaultPlan: str('HOOKHUB_DEFAULT_PLAN') ?? 'unlimited',
      cacheMs: int('HOOKHUB_PLAN_CACHE_MS', 2000, 0, 600_000),
      usageFlushMs: int('HOOKHUB_USAGE_FLUSH_MS', 1000, 50, 600_000),
      maxCachedTenants: int('HOOKHUB_PLAN_CACHE_TENANTS', 10_000, 10, 10_000_000),
      slaCheck: {
        intervalMs: int('HOOKHUB_SLA_CHECK_INTERVAL_MS', 60_000, 100, DAY_MS),
        windowMs: int('HOOKHUB_SLA_CHECK_WINDOW_MS', HOUR_MS, 60_000, 30 * DAY_MS),
        minDeliveries: int('HOOKHUB_SLA_CHECK_MIN_DELIVERIES', 20, 1, 1_000_000),
      },
    },
    publicUrl: (str('HOOKHUB_PUBLIC_URL') ?? `http://localhost:${str('PORT') ?? '3000'}`).replace(/\/+$/, ''),
    connectorEnv: Object.fromEntries(
      Object.entries(env).filter((e): e is [string, string] => /^HOOKHUB_[A-Z0-9_]+_(CLIENT_ID|CLIENT_SECRET|AUTHORIZATION_URL|TOKEN_URL|BASE_URL|ACCOUNT_URL)$/.test(e[0]) && typeof e[1] === 'string'),
    ),
    connectorVariable: variables(env),
    oauth: {
      healthCheckMinutes: int('HOOKHUB_HEALTH_CHECK_MINUTES', 15, 1, 1440),
      redirectOrigins: (str('HOOKHUB_OAUTH_REDIRECT_ORIGINS') ?? '').split(',').map((o) => o.trim().replace(/\/+$/, '')).filter((o) => o !== ''),
    },
    connectors: {
      dir: connectorsDir(env),
      watch: bool('HOOKHUB_CONNECTORS_WATCH', mode === 'embedded'),
    },
  };
  if (production && config.allowPrivateNetworks) {
    problems.push('HOOKHUB_ALLOW_PRIVATE_NETWORKS=true is refused with NODE_ENV=production: the SSRF guard is always on in production.');
  }
  for (const ip of config.egressIps) if (!isIpOrCidr(ip)) problems.push(`HOOKHUB_EGRESS_IPS contains "${ip}", which is not an IP address or CIDR range.`);
  if (!/^https?:\/\/[^/]+/.test(config.publicUrl)) problems.push(`HOOKHUB_PUBLIC_URL="${config.publicUrl}" must be an http(s) URL such as https://hooks.example.com.`);
  if (!/^(fatal|error|warn|info|debug|trace|silent)$/.test(config.logLevel)) {
    problems.push(`LOG_LEVEL="${config.logLevel}" must be one of fatal, error, warn, info, debug, trace, silent.`);
  }
  const { health } = config;
  if (health.sliceMs > health.windowMs) problems.push(`HOOKHUB_HEALTH_SLICE (${health.sliceMs} ms) must not be longer than HOOKHUB_HEALTH_WINDOW (${health.windowMs} ms).`);
  else if (health.windowMs / health.sliceMs > 1000) problems.push('HOOKHUB_HEALTH_WINDOW holds more than 1000 slices of HOOKHUB_HEALTH_SLICE: make the slice longer.');
  if (problems.length > 0) throw new ConfigError(problems);
  return Object.freeze(config);
}

const MINUTE_MS = 60_000;
const HOUR_MS = 60 * MINUTE_MS;
const DAY_MS = 24 * HOUR_MS;
const DURATION_UNITS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: MINUTE_MS, min: MINUTE_MS, h: HOUR_MS, d: DAY_MS };

/** Milliseconds of "250ms", "30s", "15m", "2h", "5d" or a bare number of milliseconds; null when it is none of these. */
export function parseDuration(raw: string): number | null {
  const match = /^(\d+(?:\.\d+)?)\s*(ms|s|m|min|h|d)?$/i.exec(raw.trim());
  if (!match) return null;
  return Math.round(Number(match[1]) * (DURATION_UNITS[(match[2] ?? 'ms').toLowerCase()] ?? 1));
}

/** Lookups in a copy of the environment taken now: later changes to it are not seen, as with every other setting. */
function variables(env: Env): (name: string) => string | undefined {
  const copy: Readonly<Env> = Object.freeze({ ...env });
  return (name) => (Object.hasOwn(copy, name) ? copy[name] : undefined);
}

function isIpOrCidr(value: string): boolean {
  return ipaddr.isValid(value) || (value.includes('/') && (() => {
    try {
      ipaddr.parseCIDR(value);
      return true;
    } catch {
      return false;
    }
  })());
}

/**
 * The encryption key variable holds one base64 key (its id is then `k1`), or a
 * comma-separated ring `id:base64,...` whose last entry encrypts new data (an entry
 * without an id is `k<position>`). Each problem names the variable and the form it
 * was read as, since a key given in the wrong form is the usual mistake.
 */
function parseEncryptionKeys(raw: string | undefined, name: string, problems: string[]): Array<{ id: string; key: Buffer }> {
  if (raw === undefined) return [];
  const entries = raw.split(',');
  const ring = entries.length > 1 || raw.includes(':');
  const where = (index: number, id: string): string =>
    ring
      ? `${name} was read as a key ring of ${entries.length} (id:key, newest last): entry ${index + 1}${id === '' ? '' : ` ("${id}")`}`
      : `${name} was read as one key without an id (key id "k1")`;
  const keys: Array<{ id: string; key: Buffer }> = [];
  entries.forEach((entry, index) => {
    const colon = entry.indexOf(':');
    const id = (colon < 0 ? `k${index + 1}` : entry.slice(0, colon)).trim();
    const encoded = (colon < 0 ? entry : entry.slice(colon + 1)).trim();
    if (entry.trim() === '') {
      problems.push(`${where(index, '')} is empty: remove the extra comma.`);
    } else if (!/^[A-Za-z0-9_-]{1,32}$/.test(id)) {
      problems.push(`${where(index, '')} has the key id "${id}": ids are 1-32 letters, digits, "_" or "-".`);
    } else if (keys.some((k) => k.id === id)) {
      problems.push(`${where(index, '')} repeats the key id "${id}": each key of the ring needs its own id.`);
    } else if (!/^[A-Za-z0-9+/_-]+={0,2}$/.test(encoded)) {
      problems.push(`${where(index, id)} is not base64: give 32 random bytes in base64 (\`openssl rand -base64 32\`).`);
    } else {
      const key = Buffer.from(encoded, 'base64');
      if (key.length === 32) keys.push({ id, key });
      else {
        const hex = /^[0-9a-fA-F]{64}$/.test(encoded) ? ' It looks like hex: give the same bytes in base64 (`echo <hex> | xxd -r -p | base64`) or a new key from `openssl rand -base64 32`.' : '';
        problems.push(`${where(index, id)} must decode from base64 to 32 bytes (it decodes to ${key.length}).${hex}`);
      }
    }
  });
  return keys;
}

/**
 * HOOKHUB_TRUST_PROXY: unset or `false`, the connection's address is the client's; a number, that many
 * proxies in front are trusted; otherwise addresses, CIDRs or express's names (`loopback`,
 * `uniquelocal`), comma-separated. `true` (trust any) is refused: any client could then name any address.
 */
export function trustProxyOf(value: string | undefined, problems: string[]): boolean | number | string {
  const v = value?.trim() ?? '';
  if (v === '' || /^false$/i.test(v)) return false;
  if (/^\d+$/.test(v)) return Number(v);
  if (/^true$/i.test(v)) {
    problems.push('HOOKHUB_TRUST_PROXY=true would let any client name its own address (rate limits and the audit log go by it). Give the number of proxies in front of the hub (e.g. 1), or their addresses or CIDRs.');
    return false;
  }
  return v;
}
