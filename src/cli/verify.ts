import { readFileSync } from 'node:fs';
import { Option } from 'commander';
import type { Command } from 'commander';
import { explainWebhook } from '../verify';
import type { WebhookVerificationReport } from '../verify';
import { CliError, EXIT } from './client';
import { processOutput, reportError } from './output';
import type { Output } from './output';

/** A delivery as a receiver got it. */
export interface CapturedRequest {
  headers: Record<string, string>;
  body: Buffer;
}

/**
 * Reads a captured delivery: a JSON object `{"headers": {...}, "body": "<raw body as a string>"}`, or a raw
 * HTTP/1.1 request as it came over the wire (request line, headers, a blank line, the body; CRLF or LF line
 * ends). A raw request's body is cut to its Content-Length when it has one (a trailing newline added by an
 * editor is then ignored). Chunked bodies are not decoded: capture them as JSON.
 */
export function parseCapturedRequest(input: Buffer): CapturedRequest {
  const text = input.toString('utf8');
  if (/^\s*\{/.test(text)) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (err) {
      throw new CliError(`the input starts with "{" but is not JSON: ${(err as Error).message}`, EXIT.usage, 'Give {"headers": {...}, "body": "..."} or a raw HTTP request.');
    }
    const { headers, body } = (parsed ?? {}) as { headers?: unknown; body?: unknown };
    if (headers === null || typeof headers !== 'object' || Array.isArray(headers) || typeof body !== 'string') {
      throw new CliError('the JSON input must be {"headers": {"webhook-id": "...", ...}, "body": "<the raw body as a string>"}.', EXIT.usage);
    }
    return { headers: Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), String(v)])), body: Buffer.from(body, 'utf8') };
  }
  const match = /\r?\n\r?\n/.exec(text);
  const headEnd = match ? input.indexOf(match[0]) : -1;
  const head = (headEnd < 0 ? text : input.subarray(0, headEnd).toString('utf8')).split(/\r?\n/);
  const requestLine = head.shift() ?? '';
  if (!/^[A-Z]+ \S+ HTTP\/\d(\.\d)?$/.test(requestLine.trim())) {
    throw new CliError(`the input is neither JSON nor a raw HTTP request (its first line is "${requestLine.slice(0, 60)}").`, EXIT.usage, 'Give {"headers": {...}, "body": "..."} or a request starting with e.g. "POST /webhooks HTTP/1.1".');
  }
  const headers: Record<string, string> = {};
  for (const line of head) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    headers[name] = headers[name] === undefined ? value : `${headers[name]}, ${value}`;
  }
  let body = headEnd < 0 ? Buffer.alloc(0) : input.subarray(headEnd + (match?.[0].length ?? 0));
  const length = Number(headers['content-length']);
  if (Number.isInteger(length) && length >= 0 && length < body.length) body = body.subarray(0, length);
  return { headers, body };
}

/** `hookhub verify --secret … < request`: checks a captured delivery's signature offline and says which check failed. */
export function verifyCommand(program: Command): void {
  program
    .command('verify')
    .description(
      'check the signature of a captured delivery offline, with the verifier receivers use (hookhub/verify): which check fails and the signature expected. ' +
        'Input (stdin or --file): a raw HTTP request as received, or JSON {"headers": {...}, "body": "..."} (exit 1 when it does not verify)',
    )
    .requiredOption('--secret <key>', "the subscription's whsec_ secret (or whpk_ public key)")
    .option('--file <path>', 'read the request from this file instead of stdin')
    .addOption(new Option('--tolerance <seconds>', 'how far webhook-timestamp may be from now').default(300).argParser(Number))
    .option('--json', 'print JSON instead of text')
    .action((options: { secret: string; file?: string; tolerance: number; json?: boolean }) => {
      const out = processOutput(options.json === true);
      try {
        if (!Number.isInteger(options.tolerance) || options.tolerance < 0) throw new CliError('--tolerance must be a whole number of seconds.', EXIT.usage);
        let input: Buffer;
        try {
          input = readFileSync(options.file ?? 0);
        } catch (err) {
          throw new CliError(`cannot read ${options.file ?? 'stdin'}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}.`, EXIT.usage);
        }
        const request = parseCapturedRequest(input);
        const report = explainWebhook(request.body, request.headers, options.secret, { toleranceSeconds: options.tolerance });
        if (out.json) out.data(report);
        else printReport(out, report);
        process.exitCode = report.valid ? EXIT.ok : EXIT.failed;
      } catch (err) {
        process.exitCode = reportError(err, out.json);
      }
    });
}

function printReport(out: Output, report: WebhookVerificationReport): void {
  const { paint } = out;
  out.line(report.valid ? `${paint.green('verified')}  ${report.webhookId ?? ''}` : `${paint.red('not verified')}  ${report.failure?.code ?? ''}: ${report.failure?.message ?? ''}`);
  for (const check of report.checks) {
    const mark = check.status === 'passed' ? paint.green('✓') : check.status === 'failed' ? paint.red('✗') : paint.dim('·');
    out.line(`  ${mark} ${check.name}${check.status === 'not_run' ? paint.dim('  (not checked)') : ''}`);
  }
  if (report.timestamp !== null) out.line(`  timestamp  ${report.timestamp} (${report.ageSeconds ?? 0} s ago; ${report.toleranceSeconds} s allowed)`);
  for (const signature of report.receivedSignatures) out.line(`  received   ${signature}`);
  if (report.expectedSignature !== null && !report.valid) out.line(`  expected   ${report.expectedSignature}`);
  for (const hint of report.hints) out.line(`  ${paint.yellow('hint:')} ${hint}`);
}
