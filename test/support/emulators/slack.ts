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

function validBlocks(blocks: unknown): boolean {
  if (!Array.isArray(blocks) || blocks.length > 50) return false;
  return blocks.every((b: unknown) => {
    if (b === null || typeof b !== 'object') return false;
    const block = b as Record<string, unknown>;
    if (!BLOCK_TYPES.has(String(block['type']))) return false;
    const text = block['text'] as { type?: string; text?: string } | undefined;
    if (block['type'] === 'header' && (text?.type !== 'plain_text' || (text.text ?? '').length > 150)) return false;
    if (block['type'] === 'section') {
      const fields = block['fields'] as Array<{ text?: string }> | undefined;
      if (!text && !fields) return false;
      if (text && (typeof text.text !== 'string' || text.text.length > 3000)) return false;
      if (fields && (fields.length > 10 || fields.some((f) => typeof f.text !== 'string' || f.text.length > 2000))) return false;
    }
    if (block['type'] === 'context') {
      const elements = block['elements'] as unknown[] | undefined;
      if (!Array.isArray(elements) || elements.length === 0 || elements.length > 10) return false;
    }
    return true;
  });
}

function hex(bytes: number): string {
  return randomBytes(bytes).toString('hex').toUpperCase();
}
