import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { parse } from 'yaml';
import { connectorsDir } from '../config/config';
import { failurePlace } from '../connectors/failure-places';
import { fixtureFiles, mapEvent, runFixtures } from '../connectors/fixtures';
import { findManifests, formatProblem, loadManifest } from '../connectors/loader';
import type { LoadedConnector } from '../connectors/loader';
import { ConnectorRuntime } from '../connectors/runtime';
import { eventCatalog, isEventType } from '../events/catalog';
import { configProblems, eventProblems, keptValues, missingCredentials } from './map-checks';
import { connectionCheckCommand } from './connection-check';

const out = (line: string): boolean => process.stdout.write(`${line}\n`);

/** `hookhub connectors validate|test|map|check`: the integration engineer's tools. */
export function connectorCommands(program: Command): void {
  const connectors = program.command('connectors').description('connector manifests: validate them, run their fixtures, see the requests they make');

  connectors
    .command('validate [dir]')
    .description('check every connectors/<name>/connector.yaml against the schema and compile its JSONata')
    .action((dir: string | undefined) => {
      const root = path.resolve(dir ?? connectorsDir());
      const files = findManifests(root);
      if (files.length === 0) {
        out(`no connector.yaml found under ${root}`);
        process.exitCode = 1;
        return;
      }
      let bad = 0;
      for (const file of files) {
        const result = loadManifest(file, root);
        if (result.ok) out(`ok    ${result.connector.manifest.name}@${result.connector.manifest.version}  ${path.relative(process.cwd(), file)}`);
        else {
          bad++;
          for (const problem of result.problems) out(`error ${formatProblem(problem)}`);
        }
      }
      if (bad > 0) {
        out(`\n${bad} of ${files.length} manifest(s) invalid; see schemas/connector.schema.json and docs/connectors/manifest-reference.md`);
        process.exitCode = 1;
      }
    });

  connectors
    .command('test [name]')
    .description("run connectors' golden fixtures (connectors/<name>/fixtures/*.yaml) and print a diff on mismatch")
    .option('--dir <dir>', 'connectors directory', connectorsDir())
    .action(async (name: string | undefined, options: { dir: string }) => {
      const { loaded, invalid } = loadManifests(options.dir, name);
      const runtime = new ConnectorRuntime();
      let failed = 0;
      let total = 0;
      for (const connector of loaded) {
        const files = fixtureFiles(connector);
        if (files.length === 0) out(`warn  ${connector.manifest.name}: no fixtures in ${path.relative(process.cwd(), path.join(connector.dir, 'fixtures'))}`);
        for (const result of await runFixtures(connector, runtime)) {
          total++;
          const where = `${connector.manifest.name}  ${path.relative(process.cwd(), result.file)}`;
          if (result.ok) {
            out(`pass  ${where}  ${result.description}`);
            continue;
          }
          failed++;
          out(`FAIL  ${where}  ${result.description}`);
          if (result.error) out(`      ${result.error}`);
          if (result.reason !== undefined) out(`      ${describeReason(connector, result.reason)}`);
          if (result.diff) out(result.diff.split('\n').filter((l) => !l.startsWith('=====')).map((l) => `      ${l}`).join('\n'));
        }
      }
      if (invalid > 0) out(`\n${invalid} manifest(s) invalid (problems above), so their fixtures did not run; fix them (hookhub connectors validate) and run again`);
      if (total > 0 || invalid === 0) out(`${invalid > 0 ? '' : '\n'}${total - failed} of ${total} fixture(s) passed`);
      if (failed > 0 || invalid > 0) process.exitCode = 1;
    });

  connectors
    .command('map <name> <event>')
    .description('print the requests a connector would send for an event (a JSON or YAML file with {type, data})')
    .option('--dir <dir>', 'connectors directory', connectorsDir())
    .option('--config <file>', "the link's settings (JSON or YAML)")
    .option('--credentials <file>', "the link's credentials (JSON or YAML)")
    .option('--triggers <names>', 'comma-separated trigger names to limit the run to')
    .action(async (name: string, eventFile: string, options: { dir: string; config?: string; credentials?: string; triggers?: string }) => {
      const [connector] = loadAll(options.dir, name);
      if (!connector) return;
      const event = readData(eventFile) as Parameters<typeof mapEvent>[2];
      if (!event || typeof event.type !== 'string' || typeof event.data !== 'object') {
        out(`${eventFile} must hold an event: {"type": "business.created", "data": {...}}`);
        process.exitCode = 2;
        return;
      }
      const config = options.config ? (readData(options.config) as Record<string, unknown>) : {};
      const credentials = options.credentials ? (readData(options.credentials) as Record<string, unknown>) : {};
      if (!inputsUsable(connector, eventFile, event, config, credentials, options.credentials)) {
        process.exitCode = 2;
        return;
      }
      const run = await mapEvent(connector, new ConnectorRuntime(), event, {
        config,
        credentials,
        connection: keptValues(connector, credentials),
        ...(options.triggers ? { triggers: options.triggers.split(',').map((t) => t.trim()) } : {}),
      });
      const requests = run.requests.map(({ action, request }) => ({ action, ...request, body: request.body === null ? null : tryJson(request.body) }));
      const place = 'reason' in run.outcome ? failurePlace(connector, run.outcome.reason) : null;
      const at = place ? { at: `${placeText(place.file, place.line, place.column)}${place.pointer ? `  ${place.pointer}` : ''}` } : {};
      out(JSON.stringify({ outcome: run.outcome, ...at, requests }, null, 2));
      if (run.outcome.kind === 'fail') process.exitCode = 1;
    });

  connectionCheckCommand(connectors);
}

/**
 * Reports every reason the hub would never run this mapping as given: an event its
 * schema refuses, settings linking would refuse, credentials the link lacks.
 */
function inputsUsable(
  connector: LoadedConnector,
  eventFile: string,
  event: { type: string; data: unknown },
  config: Record<string, unknown>,
  credentials: Record<string, unknown>,
  credentialsFile: string | undefined,
): boolean {
  const name = connector.manifest.name;
  let usable = true;
  const eventIssues = eventProblems(event.type, event.data);
  if (eventIssues.length > 0) {
    usable = false;
    if (!isEventType(event.type)) {
      out(`${eventFile}: "${event.type}" is not a known event type; known types: ${eventCatalog().map((e) => e.type).join(', ')}`);
    } else {
      out(`${eventFile} is not a valid ${event.type} event (schemas/events/${event.type}.schema.json); the hub refuses it, so no connector ever sees it:`);
      for (const p of eventIssues) out(`  ${p.path}  ${p.message}`);
    }
  }
  const configIssues = configProblems(connector, config);
  if (configIssues.length > 0) {
    usable = false;
    out(`the link's settings (--config) do not fit connector ${name}'s settings schema:`);
    for (const p of configIssues) out(`  ${p.path}  ${p.message}`);
  }
  const missing = missingCredentials(connector, credentials);
  if (missing.length > 0) {
    usable = false;
    const from = credentialsFile === undefined ? 'no --credentials file was given' : `not in ${credentialsFile}`;
    out(`connector ${name} (${connector.manifest.auth.type} auth) is missing ${missing.length === 1 ? 'a credential' : 'credentials'} (${from}):`);
    for (const c of missing) out(`  ${c.name}  ${c.purpose}`);
    out(`give ${missing.length === 1 ? 'it' : 'them'} in a JSON or YAML file: --credentials <file> with {${missing.map((c) => `"${c.name}": "..."`).join(', ')}}`);
  }
  return usable;
}

function loadAll(dir: string, name: string | undefined): LoadedConnector[] {
  return loadManifests(dir, name).loaded;
}

/** The run's outcome reason, and the manifest's place of the template or expression that failed when it names one. */
function describeReason(connector: LoadedConnector, reason: string): string {
  const place = failurePlace(connector, reason);
  if (!place) return `reason: ${reason}`;
  return `reason: ${reason}\n      at ${placeText(place.file, place.line, place.column)}${place.pointer ? `  ${place.pointer}` : ''}`;
}

function placeText(file: string, line: number | null, column: number | null): string {
  const relative = path.relative(process.cwd(), file) || file;
  return line === null ? relative : `${relative}:${line}:${column ?? 1}`;
}

/** The manifests under `dir` (only `name`'s when given) that load, printing the problems of those that do not. */
function loadManifests(dir: string, name: string | undefined): { loaded: LoadedConnector[]; invalid: number } {
  const root = path.resolve(dir);
  const loaded: LoadedConnector[] = [];
  let invalid = 0;
  for (const file of findManifests(root)) {
    if (name !== undefined && path.relative(root, file).split(path.sep)[0] !== name) continue;
    const result = loadManifest(file, root);
    if (result.ok) loaded.push(result.connector);
    else {
      invalid++;
      for (const problem of result.problems) out(`error ${formatProblem(problem)}`);
      process.exitCode = 1;
    }
  }
  if (name !== undefined && loaded.length === 0 && process.exitCode === undefined) {
    out(`no connector "${name}" under ${root}`);
    process.exitCode = 1;
  }
  return { loaded, invalid };
}

function readData(file: string): unknown {
  return parse(readFileSync(file, 'utf8'));
}

function tryJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}
