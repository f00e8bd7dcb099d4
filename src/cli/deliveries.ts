import { setTimeout as sleep } from 'node:timers/promises';
import { Option } from 'commander';
import type { Command } from 'commander';
import { attemptDetail, attemptLine } from './attempts';
import type { AttemptView, PageView } from './attempts';
import { EXIT } from './client';
import type { HubClient } from './client';
import { hubAction, positiveInt } from './output';
import type { Output } from './output';

/** Attempts are recorded in batches by several workers: a poll looks this far behind the newest one seen. */
const LOOKBACK_MS = 60_000;
/** At most this many pages a poll reads (250 attempts each). */
const MAX_PAGES = 20;

interface TailOptions {
  follow?: boolean;
  status?: 'succeeded' | 'failed';
  subscription?: string;
  type?: string;
  limit: number;
  interval: number;
}

/** What POST /v1/attempts/:id/resend answers. */
interface ResendView {
  resentFrom: string;
  subscriptionId: string;
  eventId: string;
  webhookId: string;
  batchId: string | null;
}

/** `hookhub deliveries tail|show|resend`: the delivery log of a running hub. */
export function deliveryCommands(program: Command): void {
  const deliveries = program.command('deliveries').description('delivery attempts: follow them as they happen, or look at one in full');

  const tail = deliveries
    .command('tail')
    .description('one line per attempt (time, event type, event id, subscription, status, duration, next retry), oldest first; --json prints one JSON object per line')
    .option('-f, --follow', 'keep printing new attempts as they are made (Ctrl-C to stop)')
    .addOption(new Option('--status <status>', 'only succeeded or failed attempts').choices(['succeeded', 'failed']))
    .option('--subscription <id>', 'only the attempts of one subscription')
    .option('--type <type>', 'only attempts of events of this type')
    .option('-n, --limit <n>', 'how many of the latest attempts to print first', positiveInt, 20)
    .option('--interval <ms>', 'how often --follow asks the hub for new attempts', positiveInt, 2000);
  hubAction(tail, async ({ client, out }, options: TailOptions) => {
    const filter = (a: AttemptView): boolean => options.type === undefined || a.eventType === options.type;
    const latest = await readLatest(client, options, filter);
    for (const a of latest.printable.reverse()) print(out, a);
    if (!options.follow) return EXIT.ok;
    const seen = new Map(latest.read.map((a) => [a.id, a.createdAt]));
    process.once('SIGINT', () => process.exit(EXIT.ok));
    for (;;) {
      await sleep(options.interval);
      const newest = [...seen.values()].sort().at(-1);
      const since = newest === undefined ? '' : new Date(Date.parse(newest) - LOOKBACK_MS).toISOString();
      const fresh = (await readSince(client, options, since)).filter((a) => !seen.has(a.id));
      for (const a of fresh.reverse()) {
        seen.set(a.id, a.createdAt);
        if (filter(a)) print(out, a);
      }
      for (const [id, at] of seen) if (at < since) seen.delete(id);
    }
  });

  const show = deliveries
    .command('show <attemptId>')
    .description('one attempt in full: URL, status, response headers and body, error, next retry (exit 1 when it failed)');
  hubAction(show, async ({ client, out }, id: string) => {
    const attempt = await client.get<AttemptView>(`/v1/deliveries/${encodeURIComponent(id)}`);
    if (out.json) out.data(attempt);
    else for (const line of attemptDetail(attempt, out.paint)) out.line(line);
    return attempt.status === 'succeeded' ? EXIT.ok : EXIT.failed;
  });

  const resend = deliveries
    .command('resend <attemptId>')
    .description("send an attempt's event again to that attempt's subscription only (same webhook-id, current settings); its attempts show resentFrom <attemptId>");
  hubAction(resend, async ({ client, out }, id: string) => {
    const result = await client.post<ResendView>(`/v1/attempts/${encodeURIComponent(id)}/resend`);
    if (out.json) out.data(result);
    else {
      const what = result.batchId === null ? `event ${result.eventId}` : `batch ${result.batchId}`;
      out.line(`Resending ${what} to ${result.subscriptionId} (webhook id ${result.webhookId}).`);
      out.line(`Follow it with hookhub deliveries tail -f --subscription ${result.subscriptionId}; its attempts show "resent from ${result.resentFrom}".`);
    }
    return EXIT.ok;
  });
}

function print(out: Output, a: AttemptView): void {
  if (out.json) out.record(a);
  else out.line(attemptLine(a, out.paint));
}

function query(options: TailOptions, cursor: string | null, limit: number): Record<string, string | number | undefined> {
  return { status: options.status, subscriptionId: options.subscription, limit, ...(cursor === null ? {} : { cursor }) };
}

/** The latest `limit` attempts passing the filter (newest first), and everything read to find them. */
async function readLatest(client: HubClient, options: TailOptions, filter: (a: AttemptView) => boolean): Promise<{ printable: AttemptView[]; read: AttemptView[] }> {
  const read: AttemptView[] = [];
  let cursor: string | null = null;
  for (let pages = 0; pages < MAX_PAGES; pages++) {
    const page: PageView<AttemptView> = await client.get('/v1/deliveries', { query: query(options, cursor, options.type === undefined ? Math.min(options.limit, 250) : 250) });
    read.push(...page.data);
    cursor = page.nextCursor;
    if (cursor === null || read.filter(filter).length >= options.limit) break;
  }
  return { printable: read.filter(filter).slice(0, options.limit), read };
}

/** Every attempt made at or after `since` (an ISO time; '' for all), newest first, paging with the cursor. */
async function readSince(client: HubClient, options: TailOptions, since: string): Promise<AttemptView[]> {
  const read: AttemptView[] = [];
  let cursor: string | null = null;
  for (let pages = 0; pages < MAX_PAGES; pages++) {
    const page: PageView<AttemptView> = await client.get('/v1/deliveries', { query: query(options, cursor, 250) });
    const recent = page.data.filter((a) => a.createdAt >= since);
    read.push(...recent);
    cursor = page.nextCursor;
    if (cursor === null || recent.length < page.data.length) break;
  }
  return read;
}
