import { existsSync, readFileSync } from 'node:fs';
import { parseDocument } from 'yaml';
import { loadJsonSchema } from '../events/catalog';
import { createAjv, describeErrors } from '../events/validator';
import type { Plan, PlanCatalog } from './model';

/** A plans file that cannot be used: its path and every problem, with where it is. */
export class PlansFileError extends Error {
  constructor(
    readonly file: string,
    readonly problems: readonly string[],
  ) {
    super(`The plans file ${file} is not valid; fix it (schema: schemas/plans.schema.json) and start again:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'PlansFileError';
  }
}

interface RawPlan {
  title?: string;
  listed?: boolean;
  limits: Record<string, number | null>;
  features: Record<string, unknown>;
  sla?: { delivery_success_percent: number; p99_first_attempt_seconds: number };
  api?: { management_per_minute?: number; ingest_per_second?: number };
  over_quota?: 'deliver_and_flag' | 'pause';
}

interface RawCatalog {
  directory_tiers?: Record<string, string>;
  plans: Record<string, RawPlan>;
}

let validator: ReturnType<typeof compile> | null = null;
function compile() {
  return createAjv().compile<RawCatalog>(loadJsonSchema('plans.schema.json'));
}

/**
 * Reads and checks the plans file (YAML, schemas/plans.schema.json): throws a PlansFileError naming
 * the file and each problem (a JSON pointer and what is wrong there) when it cannot be used.
 * `defaultPlan`, when given, must be one of its plans.
 */
export function loadPlans(file: string, defaultPlan?: { name: string; variable: string }): PlanCatalog {
  if (!existsSync(file)) throw new PlansFileError(file, ['the file does not exist (set HOOKHUB_PLANS_FILE to the plans file to use)']);
  const doc = parseDocument(readFileSync(file, 'utf8'), { uniqueKeys: true, prettyErrors: true });
  if (doc.errors.length > 0) {
    throw new PlansFileError(file, doc.errors.map((e) => {
      const pos = e.linePos?.[0];
      return `${pos ? `line ${pos.line}, column ${pos.col}: ` : ''}YAML: ${e.message.split('\n')[0] ?? e.message}`;
    }));
  }
  const raw: unknown = doc.toJS();
  validator ??= compile();
  if (!validator(raw)) {
    throw new PlansFileError(file, describeErrors(validator.errors).map((p) => `${p.path} ${p.message}`));
  }
  const plans = Object.entries(raw.plans).map(([name, plan]) => planOf(name, plan));
  const names = new Set(plans.map((p) => p.name));
  const problems: string[] = [];
  const directoryTiers = raw.directory_tiers ?? {};
  for (const [tier, plan] of Object.entries(directoryTiers)) {
    if (!names.has(plan)) problems.push(`/directory_tiers/${tier} names the plan "${plan}", which is not in /plans (${[...names].join(', ')})`);
  }
  if (defaultPlan && !names.has(defaultPlan.name)) {
    problems.push(`${defaultPlan.variable}="${defaultPlan.name}" names no plan of this file; its plans are ${[...names].join(', ')}`);
  }
  if (problems.length > 0) throw new PlansFileError(file, problems);
  return { file, plans, directoryTiers };
}

function planOf(name: string, raw: RawPlan): Plan {
  const l = raw.limits;
  const f = raw.features;
  return {
    name,
    title: raw.title ?? name,
    listed: raw.listed ?? true,
    limits: {
      subscriptions: l['subscriptions'] ?? null,
      connections: l['connections'] ?? null,
      deliveredEventsPerMonth: l['delivered_events_per_month'] ?? null,
      deliveriesPerSecondPerSubscription: l['deliveries_per_second_per_subscription'] ?? null,
      attemptRetentionDays: l['attempt_retention_days'] ?? null,
      batchSize: l['batch_size'] ?? null,
    },
    features: {
      transforms: f['transforms'] === true,
      jsonataFilters: f['jsonata_filters'] === true,
      payloadEncryption: f['payload_encryption'] === true,
      mutualTls: f['mutual_tls'] === true,
      ordering: f['ordering'] === true,
      batches: f['batches'] === true,
      connectors: f['connectors'] === '*' ? '*' : Object.freeze([...(f['connectors'] as string[])]),
    },
    sla: raw.sla ? { deliverySuccessPercent: raw.sla.delivery_success_percent, p99FirstAttemptSeconds: raw.sla.p99_first_attempt_seconds } : null,
    api: { managementPerMinute: raw.api?.management_per_minute ?? null, ingestPerSecond: raw.api?.ingest_per_second ?? null },
    overQuota: raw.over_quota ?? 'deliver_and_flag',
  };
}
