import { signPayload } from '../../transport/signing';

/** One request a connector action is about to send. Hooks may change any part of it. */
export interface OutgoingRequest {
  method: string;
  url: string;
  headers: Record<string, string>;
  body: string | null;
}

export interface HookContext {
  /** The link's settings, secrets included. */
  config: Record<string, unknown>;
  credentials: Record<string, unknown>;
  /** The delivery's webhook id: the same on every retry and replay. */
  webhookId: string;
  now: Date;
}

export type BeforeRequestHook = (request: OutgoingRequest, context: HookContext) => OutgoingRequest | Promise<OutgoingRequest>;

/**
 * Code hooks for what YAML cannot say. Manifests name them by key
 * (`hooks.before_request: standard_webhooks_sign`); a key that is not here is
 * a load error. Add a hook by adding an entry: never load code by file path.
 */
export const BEFORE_REQUEST_HOOKS: Readonly<Record<string, BeforeRequestHook>> = {
  /**
   * Signs the body the Standard Webhooks way with the link's `signing_secret`
   * (a `whsec_` secret), so a custom receiver can verify it came from Hookhub.
   * Without a secret in the link's config the request goes unsigned.
   */
  standard_webhooks_sign(request, context) {
    const secret = context.config['signing_secret'];
    if (typeof secret !== 'string' || secret === '') return request;
    const signature = signPayload(context.webhookId, Math.floor(context.now.getTime() / 1000), request.body ?? '', [secret]);
    return { ...request, headers: { ...request.headers, ...signature } };
  },
};
