import type { Command } from 'commander';
import { CliError, EXIT } from './client';
import { HubRefused } from './hub-socket';
import { durationSeconds, localUrl } from './listen';
import { hubAction } from './output';
import { Tunneler } from './tunneler';
import type { HandledRequest } from './tunneler';

interface TunnelOptions {
  to: string;
  keep: string;
}

/**
 * `hookhub tunnel --to <url>`: a public URL of the hub whose requests reach a local app (third-party webhooks,
 * OAuth callbacks), until interrupted (README, "Developer tools → tunnel"; docs/tunnels.md).
 */
export function tunnelCommand(program: Command): void {
  const command = program
    .command('tunnel')
    .description('get a public URL on the hub whose requests go to a local URL, and their responses back, until interrupted')
    .requiredOption('--to <url>', 'the local app, e.g. http://localhost:4000 (the path below the public URL is appended)')
    .option('--keep <duration>', 'how long the URL waits for this client to come back after a disconnect (e.g. 90s, 10m, 1h)', '10m');
  hubAction(command, async ({ client, out }, ...args: unknown[]) => {
    const options = (args[0] ?? {}) as TunnelOptions;
    const { apiKey, url } = client.target;
    if (apiKey === null) throw new CliError('no API key.', EXIT.usage, 'Run `hookhub login`, set HOOKHUB_API_KEY or pass --api-key <key> (a key with the tunnels:write scope).');
    const to = localUrl(options.to, '--to', 'http://localhost:4000');
    const tunneler = new Tunneler({
      hubUrl: url,
      apiKey,
      to,
      keepSeconds: durationSeconds(options.keep),
      ready: (publicUrl, tunnelId) => {
        if (out.json) out.record({ type: 'ready', url: publicUrl, tunnelId, to: to.href });
        else {
          out.line(`Forwarding ${out.paint.bold(publicUrl)} → ${to.href}`);
          out.line(out.paint.dim(`Tunnel ${tunnelId}. The URL is shown only now; it stays the same while this command runs (reconnects included). Ctrl-C to stop.`));
        }
      },
      handled: (request) => (out.json ? out.record({ type: 'request', ...request }) : out.line(requestLine(request, out.paint))),
      note: (line) => out.warn(out.paint.dim(line)),
    });
    const stop = (): void => tunneler.stop();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    try {
      await tunneler.run();
      return EXIT.ok;
    } catch (err) {
      if (err instanceof HubRefused) throw new CliError(`${err.code}: ${err.message}`, err.code === 'tunnel_closed' || err.code === 'tunnel_not_found' ? EXIT.failed : EXIT.usage);
      throw err;
    }
  });
}

/** `12:00:01  POST /webhooks?x=1  → 200  14 ms`. */
function requestLine(request: HandledRequest, paint: { red(t: string): string; green(t: string): string; yellow(t: string): string }): string {
  const time = new Date(request.time).toTimeString().slice(0, 8);
  const status = request.status === null ? paint.red(`error: ${request.error ?? 'no answer'}`) : request.status < 400 ? paint.green(String(request.status)) : paint.yellow(String(request.status));
  return `${time}  ${request.method} ${request.path}  → ${status}  ${request.durationMs} ms`;
}
