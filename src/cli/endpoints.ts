import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import type { EndpointCheck } from '../transport/endpoint-check';
import { CliError, EXIT } from './client';
import { hubAction } from './output';
import type { Output } from './output';

/** `hookhub endpoints validate <url>`: the hub checks an endpoint as deliveries would reach it. */
export function endpointCommands(program: Command): void {
  const endpoints = program.command('endpoints').description('check webhook endpoints from the hub');
  const validate = endpoints
    .command('validate <url>')
    .description('reachability, TLS (chain, protocol, expiry, issuer), a signed test POST and its answer and time, redirects (reported, never followed), as the hub sees them (POST /v1/endpoints/validate; exit 1 when deliveries would fail)')
    .option('--secret <key>', "sign the test POST with this whsec_ secret (your subscription's), so a receiver that verifies accepts it")
    .option('--ca <file>', "a PEM file of a CA to trust besides the public ones (as a subscription's tls.ca)");
  hubAction(validate, async ({ client, out }, url: string, options: { secret?: string; ca?: string }) => {
    let ca: string | undefined;
    if (options.ca !== undefined) {
      try {
        ca = readFileSync(options.ca, 'utf8');
      } catch (err) {
        throw new CliError(`cannot read --ca ${options.ca}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}.`, EXIT.usage);
      }
    }
    const check = await client.post<EndpointCheck>('/v1/endpoints/validate', { url, ...(options.secret === undefined ? {} : { secret: options.secret }), ...(ca === undefined ? {} : { ca }) });
    if (out.json) out.data(check);
    else printCheck(out, check);
    return check.issues.some((i) => i.severity === 'error') ? EXIT.failed : EXIT.ok;
  });
}

function printCheck(out: Output, check: EndpointCheck): void {
  const { paint } = out;
  const failing = check.issues.some((i) => i.severity === 'error');
  out.line(`${failing ? paint.red('problems') : paint.green('ok')}  ${check.url}`);
  out.line(`  reachable   ${check.reachable ? `yes (${check.addresses.join(', ')}; connected in ${check.connectMs ?? 0} ms)` : 'no'}`);
  if (check.tls) {
    const t = check.tls;
    out.line(`  tls         ${t.authorized ? 'trusted' : `not trusted (${t.error ?? ''})`}, ${t.protocol ?? '?'}, ${t.cipher ?? '?'}`);
    out.line(`  certificate ${t.subject ?? '?'}; issuer ${t.issuer ?? '?'}; expires ${t.validTo?.slice(0, 10) ?? '?'} (${t.daysLeft ?? '?'} days)`);
  }
  if (check.request) {
    const r = check.request;
    const answer = r.status === null ? `no answer (${r.error ?? ''})` : `${r.status}${r.redirect ? ` → ${r.redirect.location ?? '(no Location)'} (not followed)` : ''}`;
    out.line(`  test POST   ${answer} in ${r.durationMs} ms, signed with ${r.signedWith === 'given_secret' ? 'the secret given' : 'a throwaway secret'}`);
  }
  for (const issue of check.issues) out.line(`  ${issue.severity === 'error' ? paint.red('error') : paint.yellow('warning')}  ${issue.message}`);
}
