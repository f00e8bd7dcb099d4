import { Option } from 'commander';
import type { Command } from 'commander';
import { HubMetrics } from '../core/metrics';
import { EventIntake } from '../events/intake';
import { EventValidator } from '../events/validator';
import { CliError, EXIT } from './client';
import { publish, sendTest } from './events-send';
import type { SendOptions } from './events-send';
import { readDocument } from './input';
import { hubAction, positiveInt, processOutput, reportError } from './output';
import type { Output } from './output';
import type { Inspection } from '../pipeline/inspector';

/** `hookhub events send|validate`: publish or simulate an event, or check one offline. */
export function eventCommands(program: Command): void {
  const events = program.command('events').description('publish an event and watch its deliveries, test one subscription, or validate an event offline');

  const send = events
    .command('send <type>')
    .description('publish an event (POST /v1/events) and print each delivery as it happens; with --subscription, send a test event to that subscription only (exit 1 when a delivery failed or none came in time)')
    .option('--data <file>', "the event's data as a JSON file, or - for stdin (default: the type's sample data)")
    .option('--subscription <id>', 'send a signed test event to this subscription only, right away (POST /v1/subscriptions/{id}/test)')
    .addOption(new Option('--timeout <seconds>', 'how long to wait for the deliveries').argParser(positiveInt).default(30))
    .option('--no-wait', 'publish and exit without waiting for the deliveries');
  hubAction(send, async (context, type: string, options: { data?: string; subscription?: string; timeout: number; wait: boolean }) => {
    const data = options.data === undefined ? undefined : dataObject(readDocument(options.data), options.data);
    const sending: SendOptions = { timeout: options.timeout, wait: options.wait, ...(data === undefined ? {} : { data }) };
    return options.subscription === undefined ? publish(context, type, sending) : sendTest(context, type, { ...sending, subscription: options.subscription });
  });

  const inspect = events
    .command('inspect <file>')
    .description('a dry run of an event (POST /v1/events/inspect): its problems by JSON path, and for each of your subscriptions whether it would match (which check failed) and the exact request it would get; nothing is published (exit 1 when the event is invalid)')
    .option('--type <type>', 'the file holds only the data of an event of this type');
  hubAction(inspect, async ({ client, out }, file: string, options: { type?: string }) => {
    const document = readDocument(file);
    const candidate = options.type === undefined ? document : { type: options.type, data: document };
    if (candidate === null || typeof candidate !== 'object' || Array.isArray(candidate)) throw new CliError(`${file} must hold a JSON object: an event {"type", "data"}, or its data with --type.`, EXIT.usage);
    const inspection = await client.post<Inspection>('/v1/events/inspect', candidate);
    if (out.json) out.data(inspection);
    else printInspection(out, inspection);
    return inspection.valid ? EXIT.ok : EXIT.failed;
  });

  events
    .command('validate <file>')
    .description('check an event offline as POST /v1/events would: the envelope and its data against the type\'s JSON Schema (schemas/events), each problem by JSON path (exit 1 when invalid)')
    .option('--type <type>', 'the file holds only the data of an event of this type')
    .option('--json', 'print JSON instead of text')
    .action((file: string, options: { type?: string; json?: boolean }) => {
      const out = processOutput(options.json === true);
      try {
        const document = readDocument(file);
        const candidate = options.type === undefined ? document : { type: options.type, data: document };
        const result = offlineIntake().accept(candidate, { source: 'http', tenantId: 'offline' });
        if ('ok' in result) {
          if (out.json) out.data({ valid: true, type: result.ok.type });
          else out.line(`${out.paint.green('valid')}  ${result.ok.type}  ${file}`);
          process.exitCode = EXIT.ok;
          return;
        }
        if (out.json) out.data({ valid: false, reason: result.invalid, problems: result.problems });
        else {
          out.line(`${out.paint.red('invalid')}  ${file}  (${result.invalid})`);
          const width = Math.max(...result.problems.map((p) => p.path.length));
          for (const p of result.problems) out.line(`  ${p.path.padEnd(width)}  ${p.message}`);
        }
        process.exitCode = EXIT.failed;
      } catch (err) {
        process.exitCode = reportError(err, out.json);
      }
    });
}

/** The hub's own intake (defaults, envelope and data schemas, reserved types), with nothing recorded. */
function offlineIntake(): EventIntake {
  return new EventIntake({ validator: new EventValidator(), invalidEvents: { recordInvalidEvent: async () => undefined }, metrics: new HubMetrics() });
}

function dataObject(value: unknown, file: string): Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new CliError(`${file === '-' ? 'stdin' : file} must hold a JSON object: the event's data.`, EXIT.usage);
  }
  return value as Record<string, unknown>;
}

/** The dry run for people: the verdict, then a block per subscription, matched ones with their request. */
function printInspection(out: Output, inspection: Inspection): void {
  const { paint } = out;
  if (!inspection.valid) {
    out.line(`${paint.red('invalid')}  (${inspection.reason ?? 'invalid'}): POST /v1/events would refuse it, and nothing would be delivered`);
    const width = Math.max(...inspection.problems.map((p) => p.path.length));
    for (const p of inspection.problems) out.line(`  ${p.path.padEnd(width)}  ${p.message}`);
    return;
  }
  const event = inspection.event;
  const matched = inspection.subscriptions.filter((s) => s.matched).length;
  out.line(`${paint.green('valid')}  ${event?.type ?? ''}  ${event?.id ?? ''}  matches ${matched} of ${inspection.subscriptions.length} subscriptions${inspection.truncated ? ' (more not shown)' : ''}`);
  for (const s of inspection.subscriptions) {
    out.line('');
    const where = s.endpointUrl ?? (s.integration ? `${s.integration.connector} (connection ${s.integration.connectionId})` : '');
    if (!s.matched) {
      out.line(`${paint.dim('✗')} ${s.id}  ${where}  ${paint.dim(`no match (${s.failedCheck ?? ''})`)}`);
      out.line(`    ${s.reason ?? ''}`);
      continue;
    }
    out.line(`${paint.green('✓')} ${s.id}  ${where}  ${paint.green('matches')}`);
    if (s.checks.filter) out.line(`    filter ${s.checks.filter.expression}  → ${JSON.stringify(s.checks.filter.result)}`);
    if (s.error !== null) out.line(`    ${paint.red('the payload cannot be built:')} ${s.error}`);
    if (s.integration) out.line(`    runs its connector's triggers (${s.integration.triggers?.join(', ') ?? 'all for this type'}); preview the requests with \`hookhub connectors map\``);
    if (s.request) {
      out.line(`    POST ${s.request.url}`);
      for (const [name, value] of Object.entries(s.request.headers)) out.line(`    ${paint.dim(`${name}:`)} ${value}`);
      out.line(`    ${s.request.body}`);
    }
  }
}
