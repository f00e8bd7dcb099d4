import type { Command } from 'commander';
import { EXIT } from './client';
import { hubAction } from './output';

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

/**
 * `hookhub connectors check <connection-id>`: asks a running hub to check a connection
 * (POST /v1/connections/{id}/check) and says what the linked account lacks.
 */
export function connectionCheckCommand(connectors: Command): void {
  const command = connectors
    .command('check <connection-id>')
    .description('ask a running hub to check a connection: prints the scopes, properties or fields the linked account lacks (exit 0: nothing missing, 1: something missing or unchecked, the credentials fail, or no such connection; 2: usage or HTTP error)');
  hubAction(command, async ({ client, out }, id: string) => {
    const result = await client.post<CheckResult>(`/v1/connections/${encodeURIComponent(id)}/check`, undefined, { timeoutMs: CHECK_TIMEOUT_MS });
    if (out.json) out.data(result);
    else for (const line of describe(id, result)) out.line(line);
    return healthy(result) ? EXIT.ok : EXIT.failed;
  });
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
