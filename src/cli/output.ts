import { InvalidArgumentError } from 'commander';
import type { Command } from 'commander';
import { ApiError, CliError, clientFor } from './client';
import type { ExitCode, HubClient, HubFlags } from './client';

/** Colours for a stream: only on a terminal, and never with NO_COLOR set (https://no-color.org) or TERM=dumb. */
export interface Paint {
  red(text: string): string;
  green(text: string): string;
  yellow(text: string): string;
  dim(text: string): string;
  bold(text: string): string;
}

export function paintFor(stream: { isTTY?: boolean }, env: NodeJS.ProcessEnv = process.env): Paint {
  const on = stream.isTTY === true && (env['NO_COLOR'] ?? '') === '' && env['TERM'] !== 'dumb';
  const sgr = (open: number, close: number) => (text: string) => (on ? `\u001b[${open}m${text}\u001b[${close}m` : text);
  return { red: sgr(31, 39), green: sgr(32, 39), yellow: sgr(33, 39), dim: sgr(2, 22), bold: sgr(1, 22) };
}

/** Where a command writes: lines for people, JSON for programs, problems on stderr. */
export interface Output {
  readonly json: boolean;
  readonly paint: Paint;
  line(text: string): void;
  data(value: unknown): void;
  /** A one-line JSON value (for streams of records, e.g. `deliveries tail --follow --json`). */
  record(value: unknown): void;
  warn(text: string): void;
}

export function processOutput(json: boolean): Output {
  return {
    json,
    paint: paintFor(process.stdout),
    line: (text) => process.stdout.write(`${text}\n`),
    data: (value) => process.stdout.write(`${JSON.stringify(value, null, 2)}\n`),
    record: (value) => process.stdout.write(`${JSON.stringify(value)}\n`),
    warn: (text) => process.stderr.write(`${text}\n`),
  };
}

/** Prints a failure: the API's code and message, or the CLI's, and what to do; the exit code. */
export function reportError(err: unknown, json: boolean): ExitCode {
  if (!(err instanceof CliError)) throw err;
  if (json) {
    const error = err instanceof ApiError ? { status: err.status, code: err.code, message: err.message, details: err.details } : { code: 'cli_error', message: err.message };
    process.stderr.write(`${JSON.stringify({ error: { ...error, ...(err.hint === undefined ? {} : { hint: err.hint }) } })}\n`);
    return err.exitCode;
  }
  const paint = paintFor(process.stderr);
  const what = err instanceof ApiError ? `${err.code} (HTTP ${err.status}): ${err.message}` : err.message;
  process.stderr.write(`${paint.red('hookhub: error:')} ${what}\n`);
  if (err instanceof ApiError) for (const problem of problemsOf(err.details).slice(0, 20)) process.stderr.write(`  ${problem.path}  ${problem.message}\n`);
  if (err.hint !== undefined) process.stderr.write(`${paint.dim(err.hint)}\n`);
  return err.exitCode;
}

/** The problems of an error's details, by path: validation_failed has them as the details, invalid_event under problems. */
function problemsOf(details: unknown): Array<{ path: string; message: string }> {
  const list: unknown = Array.isArray(details) ? details : (details as { problems?: unknown } | null | undefined)?.problems;
  if (!Array.isArray(list)) return [];
  return list.filter((p): p is { path: string; message: string } => typeof (p as { path?: unknown }).path === 'string' && typeof (p as { message?: unknown }).message === 'string');
}

export interface HubContext {
  client: HubClient;
  out: Output;
}

type HubOptions = HubFlags & { json?: boolean };

/** Adds --url, --api-key and --json to a command that talks to a hub. */
export function withHubOptions(command: Command): Command {
  return command
    .option('--url <url>', `the hub's address (default: HOOKHUB_URL, the stored login, or http://127.0.0.1:3000)`)
    .option('--api-key <key>', 'an API key of your tenant (default: HOOKHUB_API_KEY or the stored login)')
    .option('--json', 'print JSON instead of text')
    .addHelpText('after', EXIT_CODES_HELP);
}

const EXIT_CODES_HELP = `
Exit codes: 0 done and fine; 1 what was asked about failed or does not exist (a failed delivery,
an unknown id); 2 usage, connection or HTTP errors (the hub unreachable, the key refused, a request
the API rejects). Errors go to stderr with the API's code and message, as JSON with --json.`;

/**
 * Adds the hub options and an action that gets a client and an output, and whose result (or
 * error, printed with what to do) is the exit code. Arguments come as commander passes them.
 */
export function hubAction<A extends unknown[]>(command: Command, action: (context: HubContext, ...args: A) => Promise<ExitCode>): Command {
  return withHubOptions(command).action(async (...args: unknown[]) => {
    const options = (args.at(-1) as Command).opts<HubOptions>();
    const json = options.json === true;
    try {
      const client = clientFor(options);
      process.exitCode = await action({ client, out: processOutput(json) }, ...(args.slice(0, -1) as A));
    } catch (err) {
      process.exitCode = reportError(err, json);
    }
  });
}

/** A commander parser for a whole number above 0. */
export function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('must be a whole number above 0.');
  return n;
}

