import type { Command } from 'commander';
import { CliError, EXIT } from './client';
import { Listener, listenLine, ListenRefused } from './listener';
import type { ListenRequest } from './listener';
import { hubAction } from './output';

interface ListenOptions {
  forwardTo: string;
  events?: string;
  filter?: string;
  subscription?: string;
  keep: string;
}

/**
 * `hookhub listen --forward-to <url>`: the tenant's deliveries reach a local app with no public URL, through a
 * relay subscription whose target is this process (README, "Developer tools → listen").
 */
export function listenCommand(program: Command): void {
  const command = program
    .command('listen')
    .description('forward deliveries of your tenant to a local URL, shaped and signed as the hub sends them, until interrupted (--json: one JSON line per event: ready, then each delivery)')
    .requiredOption('--forward-to <url>', 'where to POST each delivery, e.g. http://localhost:4000/webhooks')
    .option('--events <list>', 'comma-separated event types to receive (default: all)')
    .option('--filter <expr>', 'a JSONata filter over the event, or a JSON list of field filters [{"field", "operator", "value"}], as for subscriptions')
    .option('--subscription <id>', "mirror this subscription's events, filters and payload shaping")
    .option('--keep <duration>', 'how long the relay waits for this client to come back (e.g. 90s, 10m, 1h)', '10m');
  hubAction(command, async ({ client, out }, ...args: unknown[]) => {
    const options = (args[0] ?? {}) as ListenOptions;
    const { apiKey, url } = client.target;
    if (apiKey === null) throw new CliError('no API key.', EXIT.usage, 'Run `hookhub login`, set HOOKHUB_API_KEY or pass --api-key <key> (a key with the relay:write scope).');
    const listener = new Listener({
      hubUrl: url,
      apiKey,
      forwardTo: localUrl(options.forwardTo),
      request: listenRequest(options),
      report: (event) => (out.json ? out.record(event) : out.line(listenLine(event))),
      note: (line) => out.warn(out.paint.dim(line)),
    });
    const stop = (): void => listener.stop();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    try {
      await listener.run();
      return EXIT.ok;
    } catch (err) {
      if (err instanceof ListenRefused) throw new CliError(`${err.code}: ${err.message}`, err.code === 'relay_not_found' ? EXIT.failed : EXIT.usage);
      throw err;
    }
  });
}

function listenRequest(options: ListenOptions): ListenRequest {
  const keepSeconds = durationSeconds(options.keep);
  if (options.subscription !== undefined) {
    if (options.events !== undefined || options.filter !== undefined) throw new CliError('--subscription takes that subscription\'s events and filters: leave out --events and --filter.');
    return { subscriptionId: options.subscription, keepSeconds };
  }
  const events = (options.events ?? '*').split(',').map((e) => e.trim()).filter((e) => e !== '');
  return { events, ...filterOf(options.filter), keepSeconds };
}

function filterOf(filter: string | undefined): Pick<ListenRequest, 'filter' | 'filters'> {
  if (filter === undefined) return {};
  if (!filter.trimStart().startsWith('[')) return { filter };
  try {
    return { filters: JSON.parse(filter) as unknown[] };
  } catch {
    throw new CliError('--filter starting with "[" must be a JSON list of field filters, e.g. [{"field": "data.city", "operator": "equals", "value": "Berlin"}].');
  }
}

/** A local http(s) URL given as `flag`, e.g. http://localhost:4000/webhooks. */
export function localUrl(raw: string, flag = '--forward-to', example = 'http://localhost:4000/webhooks'): URL {
  try {
    const url = new URL(raw);
    if (url.protocol === 'http:' || url.protocol === 'https:') return url;
  } catch {
    // Said below.
  }
  throw new CliError(`${flag} "${raw}" is not an http(s) URL.`, EXIT.usage, `Give the local endpoint, e.g. ${example}.`);
}

/** `90`, `90s`, `10m`, `1h` in seconds. */
export function durationSeconds(raw: string): number {
  const match = /^(\d+)\s*(s|m|h)?$/.exec(raw.trim());
  const seconds = match ? Number(match[1]) * { s: 1, m: 60, h: 3600 }[(match[2] ?? 's') as 's' | 'm' | 'h'] : NaN;
  if (!Number.isInteger(seconds) || seconds < 1 || seconds > 86_400) throw new CliError(`--keep "${raw}" must be a duration from 1s to 24h, e.g. 90s, 10m or 1h.`);
  return seconds;
}
