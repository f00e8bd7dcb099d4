import { ValidationError } from '../core/errors';
import type { ValidationProblem } from '../core/errors';
import { createAjv, describeErrors } from '../events/validator';
import type { TenantSettingsRecord } from './model';
import type { TenantSettingsStore } from './ports';

/** The most redirect origins a tenant may list. */
export const MAX_TENANT_REDIRECT_ORIGINS = 20;
const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);

/** PUT /v1/settings, as its schema guarantees it. */
export interface TenantSettingsInput {
  oauth: { redirectOrigins: string[] };
}

const ajv = createAjv();
const validateSettings = ajv.compile<TenantSettingsInput>({
  type: 'object',
  additionalProperties: false,
  required: ['oauth'],
  properties: {
    oauth: {
      type: 'object',
      additionalProperties: false,
      required: ['redirectOrigins'],
      properties: {
        redirectOrigins: { type: 'array', maxItems: MAX_TENANT_REDIRECT_ORIGINS, items: { type: 'string', minLength: 1, maxLength: 255 } },
      },
    },
  },
});

/** What GET and PUT /v1/settings answer. */
export function tenantSettingsView(record: TenantSettingsRecord): Record<string, unknown> {
  return { oauth: { redirectOrigins: record.redirectOrigins }, updatedAt: record.updatedAt.getTime() > 0 ? record.updatedAt.toISOString() : null };
}

/**
 * A tenant's settings: for now the origins its account-linking flows may send the end
 * user's browser back to (redirectAfter), next to the hub-wide HOOKHUB_OAUTH_REDIRECT_ORIGINS.
 */
export class TenantSettingsService {
  constructor(
    private readonly store: TenantSettingsStore,
    private readonly config: { production: boolean },
  ) {}

  /** The tenant's settings; defaults (no origins, never updated) when it saved none. */
  async get(tenantId: string): Promise<TenantSettingsRecord> {
    return (await this.store.getTenantSettings(tenantId)) ?? { tenantId, redirectOrigins: [], updatedAt: new Date(0) };
  }

  /** Replaces the tenant's settings with a valid body, or a 400 naming each problem and what is accepted. */
  async replace(tenantId: string, body: Record<string, unknown>): Promise<TenantSettingsRecord> {
    const input = this.parse(body);
    const record: TenantSettingsRecord = { tenantId, redirectOrigins: input.oauth.redirectOrigins, updatedAt: new Date() };
    await this.store.putTenantSettings(record);
    return record;
  }

  private parse(body: Record<string, unknown>): TenantSettingsInput {
    if (!validateSettings(body)) {
      const problems = describeErrors(validateSettings.errors).map((p) =>
        p.path === '/oauth/redirectOrigins' && p.message.includes('more than') ? { ...p, message: `lists more than ${MAX_TENANT_REDIRECT_ORIGINS} origins; keep the ones your app redirects to` } : p,
      );
      throw settingsInvalid(problems);
    }
    const problems: ValidationProblem[] = [];
    const origins: string[] = [];
    body.oauth.redirectOrigins.forEach((value, i) => {
      const found = originOf(value, this.config.production);
      if ('problem' in found) problems.push({ path: `/oauth/redirectOrigins/${i}`, message: found.problem });
      else if (!origins.includes(found.origin)) origins.push(found.origin);
    });
    if (problems.length > 0) throw settingsInvalid(problems);
    return { oauth: { redirectOrigins: origins } };
  }
}

function settingsInvalid(problems: ValidationProblem[]): ValidationError {
  const shown = problems.slice(0, 3).map((p) => `${p.path} ${p.message}`).join('; ');
  const more = problems.length > 3 ? ` (and ${problems.length - 3} more)` : '';
  return new ValidationError(
    `Invalid settings: ${shown}${more}. Send {"oauth": {"redirectOrigins": ["https://app.example.com"]}} with at most ${MAX_TENANT_REDIRECT_ORIGINS} origins.`,
    problems,
  );
}

/**
 * An origin as a tenant may list it: https (http only for localhost outside production, for a
 * developer's machine), no path, query, fragment, credentials or wildcard; a trailing slash and
 * the scheme's default port are dropped, as URL.origin writes it.
 */
export function originOf(value: string, production: boolean): { origin: string } | { problem: string } {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return { problem: `"${value}" is not an origin; write scheme and host, e.g. https://app.example.com` };
  }
  const loopback = LOOPBACK_HOSTS.has(url.hostname);
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && loopback && !production)) {
    const allowed = production ? 'https' : 'https (http only for localhost)';
    return { problem: `"${value}" must be an ${allowed} origin` };
  }
  if (url.hostname.includes('*')) return { problem: `"${value}" has a wildcard; list each origin on its own` };
  if (url.username !== '' || url.password !== '') return { problem: `"${value}" carries credentials; give only scheme and host` };
  if (url.pathname !== '/' || url.search !== '' || url.hash !== '' || /[?#]/.test(value)) {
    return { problem: `"${value}" has a path, query or fragment; give only the origin (${url.origin}), every path under it is allowed` };
  }
  return { origin: url.origin };
}
