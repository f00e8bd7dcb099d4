import type { ValidationProblem } from '../core/errors';
import { urlProblem } from '../transport/network-guard';
import type { LoadedConnector } from '../connectors/loader';
import { settingsProblems } from '../connectors/settings-check';

export interface ConnectionChecksOptions {
  /** Production: webhook URLs must be https and match the connector's url_pattern. */
  production: boolean;
  /**
   * HOOKHUB_ALLOW_PRIVATE_NETWORKS: without it (the default here), URL settings must resolve
   * to public addresses when linked, as the sender requires when it connects.
   */
  allowPrivateNetworks?: boolean;
}

const CREDENTIAL_FIELDS: Record<string, string[]> = {
  none: [],
  api_key: ['api_key'],
  basic: ['username', 'password'],
  webhook_url: ['webhook_url'],
  oauth2: [],
};

/** The checks of a connection's settings and credentials against its connector, every problem named. */
export class ConnectionChecks {
  constructor(private readonly options: ConnectionChecksOptions) {}

  /**
   * Settings against the connector's schema, credentials (when given) against its auth type,
   * then, when both are right, the settings that are URLs.
   */
  async all(connector: LoadedConnector, config: Record<string, unknown>, credentials: Record<string, unknown> | undefined): Promise<ValidationProblem[]> {
    const problems = [...this.config(connector, config), ...(credentials === undefined ? [] : this.credentials(connector, credentials))];
    if (problems.length === 0) problems.push(...(await this.urls(connector, config)));
    return problems;
  }

  config(connector: LoadedConnector, config: Record<string, unknown>): ValidationProblem[] {
    return settingsProblems(connector, config);
  }

  /**
   * The settings the connector declares as URLs (`format: uri`), e.g. webhook-custom's url: the
   * rules of subscription endpoints, so that a URL the sender would refuse is refused when linked
   * instead of dead-lettering every event later. Runs on settings that passed the schema.
   */
  async urls(connector: LoadedConnector, config: Record<string, unknown>): Promise<ValidationProblem[]> {
    const secret = connector.secretPaths.map((p) => `config.${p.join('.')}`);
    const rules = {
      requireHttps: this.options.production,
      allowPrivateNetworks: this.options.allowPrivateNetworks ?? false,
      credentialsHint:
        secret.length > 0
          ? `put them in ${secret.join(', ')} instead, which ${secret.length > 1 ? 'are' : 'is'} stored encrypted and never shown (see GET /v1/connectors/${connector.manifest.name})`
          : `connector ${connector.manifest.name} takes no credentials in its settings`,
    };
    const problems: ValidationProblem[] = [];
    for (const path of uriPaths(connector.manifest.config)) {
      const value = valueAt(config, path);
      if (typeof value !== 'string') continue;
      const problem = await urlProblem(value, rules);
      if (problem !== null) problems.push({ path: `/config/${path.join('/')}`, message: problem });
    }
    return problems;
  }

  credentials(connector: LoadedConnector, credentials: Record<string, unknown>): ValidationProblem[] {
    const auth = connector.manifest.auth;
    const fields = CREDENTIAL_FIELDS[auth.type] ?? [];
    const problems: ValidationProblem[] = [];
    for (const key of Object.keys(credentials)) {
      if (!fields.includes(key)) problems.push({ path: `/credentials/${key}`, message: fields.length === 0 ? `connector ${connector.manifest.name} takes no credentials` : `is not a credential of ${auth.type} auth (expected: ${fields.join(', ')})` });
    }
    for (const field of fields) {
      const value = credentials[field];
      if (typeof value !== 'string' || value === '') problems.push({ path: `/credentials/${field}`, message: `is required by ${auth.type} auth` });
    }
    const url = credentials['webhook_url'];
    if (auth.type === 'webhook_url' && typeof url === 'string' && url !== '') problems.push(...this.webhookUrl(connector, url));
    return problems;
  }

  private webhookUrl(connector: LoadedConnector, url: string): ValidationProblem[] {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      return [{ path: '/credentials/webhook_url', message: 'is not a valid URL' }];
    }
    if (!this.options.production) return [];
    const problems: ValidationProblem[] = [];
    if (parsed.protocol !== 'https:') problems.push({ path: '/credentials/webhook_url', message: 'must use https' });
    if (connector.urlPattern && !connector.urlPattern.test(url)) {
      problems.push({ path: '/credentials/webhook_url', message: `does not look like a ${connector.manifest.title} webhook URL (expected to match ${connector.urlPattern.source})` });
    }
    return problems;
  }
}

/** Paths of the properties a settings schema declares as URLs (`format: uri`), nested objects included. */
function uriPaths(schema: Record<string, unknown> | undefined, prefix: string[] = []): string[][] {
  const props = schema?.['properties'];
  if (props === null || typeof props !== 'object') return [];
  const out: string[][] = [];
  for (const [name, prop] of Object.entries(props as Record<string, unknown>)) {
    if (prop === null || typeof prop !== 'object') continue;
    if ((prop as Record<string, unknown>)['format'] === 'uri') out.push([...prefix, name]);
    out.push(...uriPaths(prop as Record<string, unknown>, [...prefix, name]));
  }
  return out;
}

function valueAt(target: Record<string, unknown>, path: string[]): unknown {
  let node: unknown = target;
  for (const key of path) {
    if (node === null || typeof node !== 'object' || !Object.hasOwn(node, key)) return undefined;
    node = (node as Record<string, unknown>)[key];
  }
  return node;
}
