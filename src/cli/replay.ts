import { InvalidArgumentError } from 'commander';
import type { Command } from 'commander';
import { CliError, EXIT } from './client';
import { hubAction } from './output';

const UNIT_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** An ISO 8601 time, or a time that long ago: 30m, 2h, 7d. */
export function timeArg(value: string): string {
  const relative = /^(\d+)([smhd])$/.exec(value);
  if (relative) return new Date(Date.now() - Number(relative[1]) * (UNIT_MS[relative[2] ?? 's'] ?? 1000)).toISOString();
  const at = Date.parse(value);
  if (Number.isNaN(at)) throw new InvalidArgumentError('must be an ISO 8601 time (2026-01-31T12:00:00Z) or a time ago (30m, 2h, 7d).');
  return new Date(at).toISOString();
}

/** `hookhub replay`: sends dead letters again, one or a subscription's in a time window. */
export function replayCommand(program: Command): void {
  const replay = program
    .command('replay [deadLetterId]')
    .description('send a dead letter again, or with --subscription and --since every dead letter of that subscription from the window that was not replayed yet')
    .option('--subscription <id>', "replay this subscription's dead letters")
    .option('--since <time>', 'start of the window: ISO 8601, or a time ago (30m, 2h, 7d)', timeArg)
    .option('--until <time>', 'end of the window (default: now)', timeArg);
  hubAction(replay, async ({ client, out }, deadLetterId: string | undefined, options: { subscription?: string; since?: string; until?: string }) => {
    if (deadLetterId !== undefined) {
      if (options.subscription !== undefined || options.since !== undefined) throw new CliError('give either a dead letter id or --subscription with --since, not both.', EXIT.usage);
      const result = await client.post<{ replayed: string; webhookId: string }>(`/v1/dead-letters/${encodeURIComponent(deadLetterId)}/replay`);
      if (out.json) out.data(result);
      else out.line(`Replaying ${result.replayed} (webhook id ${result.webhookId}); follow it with hookhub deliveries tail -f.`);
      return EXIT.ok;
    }
    if (options.subscription === undefined || options.since === undefined) {
      throw new CliError('nothing to replay.', EXIT.usage, 'Give a dead letter id (hookhub replay dl_...), or --subscription <id> --since <time> [--until <time>].');
    }
    const window = { since: options.since, ...(options.until === undefined ? {} : { until: options.until }) };
    const result = await client.post<{ replayed: number; deadLetterIds: string[] }>(`/v1/subscriptions/${encodeURIComponent(options.subscription)}/replay`, window);
    if (out.json) out.data(result);
    else if (result.replayed === 0) out.line(`No dead letters of ${options.subscription} to replay from ${options.since} to ${options.until ?? 'now'}.`);
    else {
      out.line(`Replaying ${result.replayed} dead letter(s) of ${options.subscription}; follow them with hookhub deliveries tail -f --subscription ${options.subscription}.`);
      for (const id of result.deadLetterIds) out.line(`  ${id}`);
    }
    return EXIT.ok;
  });
}
