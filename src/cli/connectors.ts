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
import { configProblems, eventProblems, keptValues, neededCredentials, placeholder, withPlaceholders } from './map-checks';
import { connectionCheckCommand } from './connection-check';
import { SCAFFOLD_AUTH, scaffoldConnector } from './connector-scaffold';
import type { ScaffoldAuth } from './connector-scaffold';

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
    .option('--credentials <file>', "the link's credentials (JSON or YAML); missing ones are shown as PLACEHOLDER-<NAME>")
    .option('--connection <file>', "values a live link keeps ($connection: e.g. Salesforce's instance_url, Pipedrive's api_domain; JSON or YAML); missing ones are shown as PLACEHOLDER-<NAME> (https://placeholder-<name>.invalid for addresses)")
    .option('--responses <file>', "the API's answers by action, as a fixture's responses gives them (a later request may use an earlier one's answer); others get an empty 200")
    .option('--triggers <names>', 'comma-separated trigger names to limit the run to')
    .action(async (name: string, eventFile: string, options: { dir: string; config?: string; credentials?: string; connection?: string; responses?: string; triggers?: string }) => {
      const [connector] = loadAll(options.dir, name);
      if (!connector) return;
      const event = readData(eventFile) as Parameters<typeof mapEvent>[2];
      if (!event || typeof event.type !== 'string' || typeof event.data !== 'object') {
        out(`${eventFile} must hold an event: {"type": "business.created", "data": {...}}`);
        process.exitCode = 2;
        return;
      }
      const config = options.config ? (readData(options.config) as Record<string, unknown>) : {};
      const given = options.credentials ? (readData(options.credentials) as Record<string, unknown>) : {};
      const connectionFile = options.connection ? (readData(options.connection) as Record<string, unknown>) : {};
      if (!inputsUsable(connector, eventFile, event, config)) {
        process.exitCode = 2;
        return;
      }
      const { credentials, connection, placeholders } = withPlaceholders(connector, given, { ...keptValues(connector, given), ...connectionFile });
      warnPlaceholders(connector, placeholders);
      const run = await mapEvent(connector, new ConnectorRuntime(), event, {
        config,
        credentials,
        connection,
        ...(options.responses ? { responses: readData(options.responses) as NonNullable<Parameters<typeof mapEvent>[3]['responses']> } : {}),
        ...(options.triggers ? { triggers: options.triggers.split(',').map((t) => t.trim()) } : {}),
      });
      const requests = run.requests.map(({ action, request }) => ({ action, ...request, body: request.body === null ? null : tryJson(request.body) }));
      const place = 'reason' in run.outcome ? failurePlace(connector, run.outcome.reason) : null;
      const at = place ? { at: `${placeText(place.file, place.line, place.column)}${place.pointer ? `  ${place.pointer}` : ''}` } : {};
      const marked = placeholders.credentials.length + placeholders.connection.length > 0 ? { placeholders } : {};
      out(JSON.stringify({ outcome: run.outcome, ...at, ...marked, requests }, null, 2));
      if (run.outcome.kind === 'fail') process.exitCode = 1;
    });

  connectors
    .command('new <name>')
    .description('scaffold connectors/<name>/: a manifest, a mapping and a fixture that validate and test pass, to edit from')
    .option('--auth <type>', `how requests authenticate: ${SCAFFOLD_AUTH.join(', ')}`, 'api_key')
    .option('--dir <dir>', 'connectors directory', connectorsDir())
    .action((name: string, options: { auth: string; dir: string }) => {
      if (!(SCAFFOLD_AUTH as readonly string[]).includes(options.auth)) {
        out(`--auth must be one of ${SCAFFOLD_AUTH.join(', ')} (got "${options.auth}")`);
        process.exitCode = 2;
        return;
      }
      try {
        for (const file of scaffoldConnector(path.resolve(options.dir), name, options.auth as ScaffoldAuth)) out(`created ${path.relative(process.cwd(), file)}`);
      } catch (err) {
        out((err as Error).message);
        process.exitCode = 2;
        return;
      }
      const elsewhere = options.dir === connectorsDir() ? null : options.dir;
      out(`next: edit them, then run hookhub connectors validate${elsewhere ? ` ${elsewhere}` : ''} and hookhub connectors test ${name}${elsewhere ? ` --dir ${elsewhere}` : ''}`);
    });

  connectionCheckCommand(connectors);
}

/**
 * Reports every reason the hub would never run this mapping as given: an event its
 * schema refuses, settings linking would refuse.
 */
function inputsUsable(connector: LoadedConnector, eventFile: string, event: { type: string; data: unknown }, config: Record<string, unknown>): boolean {
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
  return usable;
}

/** On stderr: which values of the preview are placeholders, and how to give real ones. */
function warnPlaceholders(connector: LoadedConnector, placeholders: { credentials: string[]; connection: string[] }): void {
  const purposes = new Map(neededCredentials(connector).map((c) => [c.name, c.purpose]));
  const warn = (line: string): boolean => process.stderr.write(`${line}\n`);
  const { credentials, connection } = placeholders;
  if (credentials.length > 0) {
    warn(`note: no --credentials value for connector ${connector.manifest.name}'s ${credentials.join(', ')}; the preview uses placeholders:`);
    for (const name of credentials) warn(`  ${name} = ${placeholder(name)}  (${purposes.get(name) ?? 'credential'})`);
    warn(`  real ones: --credentials <file> with {${credentials.map((n) => `"${n}": "..."`).join(', ')}}`);
  }
  if (connection.length > 0) {
    warn(`note: ${connection.map((n) => `$connection.${n}`).join(', ')} come${connection.length === 1 ? 's' : ''} with a live link; the preview uses placeholders:`);
    for (const name of connection) warn(`  ${name} = ${placeholder(name)}`);
    warn(`  real ones: --connection <file> with {${connection.map((n) => `"${n}": "..."`).join(', ')}}`);
  }
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
