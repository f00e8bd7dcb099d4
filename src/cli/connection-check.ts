import { Option } from 'commander';
import type { Command } from 'commander';

/** Where `hookhub start` listens by default (PORT 3000), seen from the same machine. */
export const DEFAULT_HUB_URL = 'http://127.0.0.1:3000';
/** A check runs the connector's health check and requirement reads against the provider: give it time. */
const CHECK_TIMEOUT_MS = 120_000;

interface Requirement {
  name: string;
  message: string;
}

/** The answer of POST /v1/connections/{id}/check (docs/openapi.json, ConnectionCheck). */
interface CheckResult {
  ok: boolean;
  status: number | null;
  durationMs: number;
  error: string | null;
  requirements: { checkedAt: string; missing: Requirement[]; unchecked: Requirement[] } | null;
}

export interface ConnectionCheckOptions {
  url: string;
  apiKey?: string;
  json?: boolean;
}

/** Where the command writes; the process's streams unless a test gives others. */
export interface CheckOutput {
  out(text: string): void;
  err(text: string): void;
}

const processOutput: CheckOutput = {
  out: (text) => process.stdout.write(`${text}\n`),
  err: (text) => process.stderr.write(`${text}\n`),
};

/** A usage or HTTP problem: exit code 2 with this message. */
class CheckFailed extends Error {}

/**
 * `hookhub connectors check <connection-id>`: asks a running hub to check a connection
 * (POST /v1/connections/{id}/check) and says what the linked account lacks.
 */
export function connectionCheckCommand(connectors: Command): void {
  connectors
    .command('check <connection-id>')
    .description('ask a running hub to check a connection: prints the scopes, properties or fields the linked account lacks (exit 0: nothing missing, 1: something missing or unchecked, or the credentials fail; 2: usage or HTTP error)')
    .option('--url <url>', "the hub's address", DEFAULT_HUB_URL)
    .addOption(new Option('--api-key <key>', 'an API key of the tenant with connections:write').env('HOOKHUB_API_KEY'))
    .option('--json', "print the hub's answer as JSON")
    // Usage errors (a missing id, an unknown option) exit with 2, as HTTP errors do; help still exits with 0.
    .exitOverride((err) => process.exit(err.exitCode === 0 ? 0 : 2))
    .action(async (id: string, options: ConnectionCheckOptions) => {
      process.exitCode = await checkConnection(id, options);
    });
}

/** Runs the check and prints it; the exit code. */
export async function checkConnection(id: string, options: ConnectionCheckOptions, output: CheckOutput = processOutput): Promise<number> {
  try {
    const result = await requestCheck(id, options);
    if (options.json) output.out(JSON.stringify(result, null, 2));
    else for (const line of describe(id, result)) output.out(line);
    return healthy(result) ? 0 : 1;
  } catch (err) {
    if (!(err instanceof CheckFailed)) throw err;
    output.err(`hookhub: ${err.message}`);
    return 2;
  }
}

async function requestCheck(id: string, options: ConnectionCheckOptions): Promise<CheckResult> {
  if (!options.apiKey) throw new CheckFailed('no API key: pass --api-key <key> or set HOOKHUB_API_KEY (a key of the connection\'s tenant with connections:write).');
  let base: URL;
  try {
    base = new URL(options.url);
    if (base.protocol !== 'http:' && base.protocol !== 'https:') throw new Error('scheme');
  } catch {
    throw new CheckFailed(`--url "${options.url}" is not an http(s) URL; give the hub's address, e.g. ${DEFAULT_HUB_URL}.`);
  }
  const target = new URL(`/v1/connections/${encodeURIComponent(id)}/check`, base);
  let response: Response;
  try {
    response = await fetch(target, { method: 'POST', headers: { authorization: `Bearer ${options.apiKey}`, accept: 'application/json' }, signal: AbortSignal.timeout(CHECK_TIMEOUT_MS) });
  } catch (err) {
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    throw new CheckFailed(`could not reach the hub at ${base.origin} (${cause?.code ?? cause?.message ?? (err as Error).message}); is it running? Give its address with --url.`);
  }
  const text = await response.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new CheckFailed(`the hub at ${base.origin} answered HTTP ${response.status} without JSON; is --url the hub's address?`);
  }
  if (!response.ok) {
    const error = (body as { error?: { code?: unknown; message?: unknown } } | null)?.error;
    const message = typeof error?.message === 'string' ? error.message : `the hub answered HTTP ${response.status}`;
    throw new CheckFailed(`${message} (HTTP ${response.status}${typeof error?.code === 'string' ? ` ${error.code}` : ''})`);
  }
  return body as CheckResult;
}

function healthy(result: CheckResult): boolean {
  return result.ok && (result.requirements?.missing.length ?? 0) === 0 && (result.requirements?.unchecked.length ?? 0) === 0;
}

/** The result for a person: what is missing with what to do, what could not be checked, and the health check. */
function describe(id: string, result: CheckResult): string[] {
  const lines: string[] = [];
  const requirements = result.requirements;
  if (requirements === null) lines.push(`Connection ${id}: its connector declares no requirements (scopes, properties or fields) to check.`);
  else if (requirements.missing.length === 0 && requirements.unchecked.length === 0) lines.push(`Connection ${id}: nothing missing; the linked account has every scope, property and field the connector needs.`);
  else if (requirements.missing.length > 0) lines.push(`Connection ${id}: the linked account lacks ${requirements.missing.length === 1 ? 'one thing' : `${requirements.missing.length} things`} the connector needs:`);
  else lines.push(`Connection ${id}: nothing found missing, but not everything could be checked.`);
  const width = Math.max(0, ...[...(requirements?.missing ?? []), ...(requirements?.unchecked ?? [])].map((r) => r.name.length));
  for (const r of requirements?.missing ?? []) lines.push(`  missing    ${r.name.padEnd(width)}  ${r.message}`);
  for (const r of requirements?.unchecked ?? []) lines.push(`  unchecked  ${r.name.padEnd(width)}  ${r.message}`);
  if ((requirements?.unchecked.length ?? 0) > 0) lines.push('Unchecked requirements could not be read (the API unreachable or refusing); run the check again later.');
  const answered = result.status === null ? 'no answer' : `HTTP ${result.status}`;
  lines.push(result.ok ? `Health check: ok (${answered}, ${result.durationMs} ms).` : `Health check: FAILED (${answered}, ${result.durationMs} ms): ${result.error ?? 'no reason given'}`);
  return lines;
}
