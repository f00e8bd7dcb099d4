import { Option } from 'commander';
import type { Command } from 'commander';
import type { PageView } from './attempts';
import { EXIT } from './client';
import { readDocument } from './input';
import { hubAction, positiveInt } from './output';
import type { Output } from './output';

type View = Record<string, unknown> & { id: string };

/** `hookhub subscriptions list|get|create|delete|rotate-secret`: thin commands over /v1/subscriptions. */
export function subscriptionCommands(program: Command): void {
  const subscriptions = program.command('subscriptions').description("your tenant's webhook subscriptions");
  const path = (id: string): string => `/v1/subscriptions/${encodeURIComponent(id)}`;

  const list = subscriptions
    .command('list')
    .description('every subscription, newest first')
    .addOption(new Option('--limit <n>', 'at most this many').argParser(positiveInt));
  hubAction(list, async ({ client, out }, options: { limit?: number }) => {
    const all: View[] = [];
    let cursor: string | null = null;
    do {
      const page: PageView<View> = await client.get('/v1/subscriptions', { query: { limit: 250, cursor: cursor ?? undefined } });
      all.push(...page.data);
      cursor = page.nextCursor;
    } while (cursor !== null && (options.limit === undefined || all.length < options.limit));
    const shown = all.slice(0, options.limit);
    if (out.json) out.data(shown);
    else if (shown.length === 0) out.line('No subscriptions yet: create one with hookhub subscriptions create --endpoint <url> --events <types>.');
    else for (const s of shown) out.line(summary(s, out));
    return EXIT.ok;
  });

  hubAction(subscriptions.command('get <id>').description('one subscription'), async ({ client, out }, id: string) => {
    show(out, await client.get<View>(path(id)));
    return EXIT.ok;
  });

  const create = subscriptions
    .command('create')
    .description('create a subscription; prints its signing secret, shown only now')
    .option('--endpoint <url>', 'the https URL deliveries are POSTed to')
    .option('--events <types>', 'comma-separated event types, or *', (value: string) => value.split(',').map((t) => t.trim()).filter((t) => t !== ''))
    .option('--description <text>', 'what it is for')
    .option('--body <file>', 'the whole request body as a JSON file (- for stdin), for the other settings (filters, payload, retryConfig...); flags override it');
  hubAction(create, async ({ client, out }, options: { endpoint?: string; events?: string[]; description?: string; body?: string }) => {
    const base = options.body === undefined ? {} : (readDocument(options.body) as Record<string, unknown>);
    const body = {
      ...base,
      ...(options.endpoint === undefined ? {} : { endpointUrl: options.endpoint }),
      ...(options.events === undefined ? {} : { events: options.events }),
      ...(options.description === undefined ? {} : { description: options.description }),
    };
    const created = await client.post<View>('/v1/subscriptions', body);
    if (out.json) {
      out.data(created);
      return EXIT.ok;
    }
    // The endpoint could not be reached just now: said once, in words (the check's details are in --json).
    const { warnings, ...view } = created as View & { warnings?: Array<{ message: string }> };
    show(out, view);
    if (typeof created['secret'] === 'string') out.warn('The secret is shown only now: store it where your receiver reads it.');
    for (const warning of warnings ?? []) out.warn(`${out.paint.yellow('warning:')} ${warning.message}`);
    return EXIT.ok;
  });

  hubAction(subscriptions.command('delete <id>').description('delete a subscription (its deliveries stop)'), async ({ client, out }, id: string) => {
    await client.delete(path(id));
    if (out.json) out.data({ deleted: id });
    else out.line(`Deleted ${id}.`);
    return EXIT.ok;
  });

  const rotate = subscriptions
    .command('rotate-secret <id>')
    .description('replace the signing secret; the old one keeps signing too for the overlap')
    .addOption(new Option('--overlap <seconds>', 'how long the old secret keeps signing (default 86400)').argParser((v) => Number(v)));
  hubAction(rotate, async ({ client, out }, id: string, options: { overlap?: number }) => {
    const rotated = await client.post<View>(`${path(id)}/rotate-secret`, options.overlap === undefined ? {} : { overlapSeconds: options.overlap });
    if (out.json) out.data(rotated);
    else {
      out.line(`New ${typeof rotated['secret'] === 'string' ? `secret: ${rotated['secret']}` : `public key: ${JSON.stringify(rotated['publicKey'])}`}`);
      out.line(`The previous one keeps signing until ${String(rotated['previousSecretExpiresAt'] ?? 'now')}.`);
    }
    return EXIT.ok;
  });
}

function summary(s: View, out: Output): string {
  const state = s['active'] === true ? out.paint.green('active  ') : out.paint.yellow('inactive');
  const events = Array.isArray(s['events']) ? s['events'].join(',') : '';
  return [s.id, state, String(s['endpointUrl'] ?? ''), events, typeof s['description'] === 'string' ? out.paint.dim(s['description']) : ''].join('  ').trimEnd();
}

/** A subscription as `name: value` lines (objects as JSON), or the JSON. */
function show(out: Output, s: View): void {
  if (out.json) return out.data(s);
  const width = Math.max(...Object.keys(s).map((k) => k.length));
  for (const [key, value] of Object.entries(s)) out.line(`${key.padEnd(width)}  ${typeof value === 'string' ? value : JSON.stringify(value)}`);
}
