import { ValidationError } from '../core/errors';

/** The longest redirectAfter taken. */
export const MAX_REDIRECT_AFTER = 2048;

export interface RedirectPolicyOptions {
  /** https only in production; http(s) otherwise. */
  production: boolean;
  /** The hub-wide origins (HOOKHUB_OAUTH_REDIRECT_ORIGINS). */
  hubOrigins: readonly string[];
  /** The origins a tenant listed (PUT /v1/settings). */
  tenantOrigins(tenantId: string): Promise<readonly string[]>;
}

/**
 * Where a linking flow may send the end user's browser back to (redirectAfter): an origin of the
 * tenant's own list or of the hub's; with neither list set, any http(s) URL (https in production).
 * One tenant's list never opens a redirect for another tenant.
 */
export class RedirectPolicy {
  constructor(private readonly options: RedirectPolicyOptions) {}

  /** The URL to keep for the flow, or null without one; a 400 saying what to change otherwise. */
  async check(tenantId: string, value: string | null | undefined): Promise<string | null> {
    if (value === undefined || value === null) return null;
    // The final redirect adds connection and status: a URL near any limit would overflow browsers' and proxies'.
    if (value.length > MAX_REDIRECT_AFTER) {
      throw new ValidationError(`redirectAfter is ${value.length} characters long; it may have at most ${MAX_REDIRECT_AFTER}.`, [{ path: '/redirectAfter', message: 'too long' }]);
    }
    let url: URL;
    try {
      url = new URL(value);
      if (url.protocol !== 'https:' && (this.options.production || url.protocol !== 'http:')) throw new Error('scheme');
    } catch {
      throw new ValidationError(this.message(), [{ path: '/redirectAfter', message: 'not a URL' }]);
    }
    const hub = this.options.hubOrigins;
    const tenant = await this.options.tenantOrigins(tenantId);
    if ((hub.length > 0 || tenant.length > 0) && !hub.includes(url.origin) && !tenant.includes(url.origin)) {
      const lists = [tenant.length > 0 ? `your tenant's: ${tenant.join(', ')}` : null, hub.length > 0 ? `this hub's: ${hub.join(', ')}` : null].filter((l) => l !== null);
      throw new ValidationError(
        `redirectAfter goes to ${url.origin}, which is not an allowed origin for account linking (${lists.join('; ')}). ` +
          `To allow it, add "${url.origin}" to your tenant's list with PUT /v1/settings {"oauth": {"redirectOrigins": [...]}} (admin scope), or ask the operator to add it to HOOKHUB_OAUTH_REDIRECT_ORIGINS.`,
        [{ path: '/redirectAfter', message: `origin ${url.origin} not allowed` }],
      );
    }
    return url.toString();
  }

  /** What a redirectAfter must be, for a value that is not a usable URL. */
  message(): string {
    return `redirectAfter must be an ${this.options.production ? 'https' : 'http(s)'} URL of your app, where the browser goes after linking.`;
  }
}
