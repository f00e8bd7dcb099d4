import type http from 'node:http';
import { listenLocal } from '../local-server';
import type { LocalServer } from '../local-server';
import { randomBytes } from 'node:crypto';

/**
 * A local emulator of Slack incoming webhooks, following
 * https://api.slack.com/messaging/webhooks: POST JSON to /services/T…/B…/<token>;
 * 200 "ok" on success; 400 invalid_payload / no_text / invalid_blocks; 403
 * invalid_token for a revoked webhook; 404 no_service for an unknown one; 410
 * channel_is_archived; 429 rate_limited with Retry-After beyond one message
 * per second per webhook.
 *
 * Blocks are held to Block Kit's documented limits, and a message past any of them is refused
 * with 400 invalid_blocks as Slack refuses it (docs/connectors/slack-conformance.md lists each
 * with its page): at most 50 blocks; block_id at most 255 characters; a header's plain_text at
 * most 150 (docs.slack.dev/reference/block-kit/blocks/header-block); a section's text at most
 * 3,000 and at most 10 fields of at most 2,000 each (docs.slack.dev/reference/block-kit/blocks/section-block);
 * a context block's 1 to 10 elements, each text at most 3,000 (docs.slack.dev/reference/block-kit/blocks/context-block,
 * docs.slack.dev/reference/block-kit/composition-objects/text-object).
 */
export interface SlackMessage {
  webhook: string;
  at: number;
  text: string | undefined;
  blocks: Array<Record<string, unknown>>;
  headers: http.IncomingHttpHeaders;
}

interface Hook {
  state: 'live' | 'revoked' | 'archived';
  lastAt: number;
}

const BLOCK_TYPES = new Set(['section', 'header', 'context', 'divider', 'image', 'actions', 'rich_text']);

export class SlackEmulator {
  readonly messages: SlackMessage[] = [];
  /** Every answer given, in order: status and body. */
  readonly answers: Array<{ webhook: string; status: number; body: string }> = [];
  private readonly hooks = new Map<string, Hook>();
  private server: LocalServer | null = null;
  private base = '';

  static async start(): Promise<SlackEmulator> {
    const emulator = new SlackEmulator();
    emulator.server = await listenLocal((req, body, res) => emulator.handle(req, body, res));
    emulator.base = emulator.server.url;
    return emulator;
  }

  /** A new incoming webhook URL, like the one Slack shows when an app is added to a channel. */
  createWebhook(): string {
    const path = `/services/T${hex(4)}/B${hex(4)}/${randomBytes(12).toString('base64url')}`;
    this.hooks.set(path, { state: 'live', lastAt: 0 });
    return `${this.base}${path}`;
  }

  setState(url: string, state: Hook['state']): void {
    const hook = this.hooks.get(new URL(url).pathname);
    if (hook) hook.state = state;
  }

  messagesFor(url: string): SlackMessage[] {
    const path = new URL(url).pathname;
    return this.messages.filter((m) => m.webhook === path);
  }

  async close(): Promise<void> {
    await this.server?.close();
  }

  private handle(req: http.IncomingMessage, raw: string, res: http.ServerResponse): void {
    const path = req.url ?? '';
    const answer = (status: number, body: string, headers: Record<string, string> = {}): void => {
      this.answers.push({ webhook: path, status, body });
      res.writeHead(status, { 'content-type': 'text/html', ...headers });
      res.end(body);
    };
    const hook = this.hooks.get(path);
    if (req.method !== 'POST' || !hook) return answer(404, 'no_service');
    if (hook.state === 'revoked') return answer(403, 'invalid_token');
    if (hook.state === 'archived') return answer(410, 'channel_is_archived');
    let payload: Record<string, unknown>;
    try {
      payload = JSON.parse(raw) as Record<string, unknown>;
      if (payload === null || typeof payload !== 'object' || Array.isArray(payload)) throw new Error('not an object');
    } catch {
      return answer(400, 'invalid_payload');
    }
    const blocks = payload['blocks'];
    const text = payload['text'];
    if ((typeof text !== 'string' || text === '') && (!Array.isArray(blocks) || blocks.length === 0)) return answer(400, 'no_text');
    if (blocks !== undefined && !validBlocks(blocks)) return answer(400, 'invalid_blocks');
    const now = Date.now();
    // One message per second per webhook, with a little slack for timer jitter.
    if (now - hook.lastAt < 950) return answer(429, 'rate_limited', { 'retry-after': '1' });
    hook.lastAt = now;
    this.messages.push({ webhook: path, at: now, text: typeof text === 'string' ? text : undefined, blocks: (blocks as Array<Record<string, unknown>> | undefined) ?? [], headers: req.headers });
    answer(200, 'ok');
  }
}

/** A text object: plain_text or mrkdwn, 1 to `max` characters (counted in UTF-16 units, the stricter reading). */
function validText(t: unknown, max: number, types = ['plain_text', 'mrkdwn']): boolean {
  if (t === null || typeof t !== 'object') return false;
  const { type, text } = t as { type?: unknown; text?: unknown };
  return typeof type === 'string' && types.includes(type) && typeof text === 'string' && text.length > 0 && text.length <= max;
}

function validBlocks(blocks: unknown): boolean {
  if (!Array.isArray(blocks) || blocks.length > 50) return false;
  return blocks.every((b: unknown) => {
    if (b === null || typeof b !== 'object') return false;
    const block = b as Record<string, unknown>;
    if (!BLOCK_TYPES.has(String(block['type']))) return false;
    if (block['block_id'] !== undefined && (typeof block['block_id'] !== 'string' || block['block_id'].length > 255)) return false;
    const text = block['text'];
    if (block['type'] === 'header' && !validText(text, 150, ['plain_text'])) return false;
    if (block['type'] === 'section') {
      const fields = block['fields'];
      if (text === undefined && fields === undefined) return false;
      if (text !== undefined && !validText(text, 3000)) return false;
      if (fields !== undefined && (!Array.isArray(fields) || fields.length === 0 || fields.length > 10 || !fields.every((f) => validText(f, 2000)))) return false;
    }
    if (block['type'] === 'context') {
      const elements = block['elements'];
      if (!Array.isArray(elements) || elements.length === 0 || elements.length > 10) return false;
      if (!elements.every((e: unknown) => (e as { type?: unknown } | null)?.type === 'image' || validText(e, 3000))) return false;
    }
    return true;
  });
}

/** Whether Slack would take these blocks (for tests that check a mapping's output directly). */
export function slackAcceptsBlocks(blocks: unknown): boolean {
  return validBlocks(blocks);
}

function hex(bytes: number): string {
  return randomBytes(bytes).toString('hex').toUpperCase();
}
