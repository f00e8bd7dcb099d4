import { spawn, execFileSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { startReceiver, waitUntil } from '../support/receiver';
import type { Receiver } from '../support/receiver';
import { countDocuments, publishMany } from '../support/services';
import { businessCreated, startTestHub } from '../support/test-hub';
import type { TestHub } from '../support/test-hub';

/** A FerretDB of this test's own, so stopping it disturbs no other test. */
const FERRETDB = path.resolve(__dirname, '../../.cache/ferretdb/ferretdb');
let PORT = 0;
let BASE = '';

let ferret: ChildProcess | null = null;
let th: TestHub;
let receiver: Receiver;

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

function startFerret(): Promise<void> {
  let output = '';
  ferret = spawn(FERRETDB, ['--listen-addr', `127.0.0.1:${PORT}`, '--postgresql-url', 'postgres://postgres@127.0.0.1:5432/ferretdb_outage'], {
    env: { ...process.env, FERRETDB_TELEMETRY: 'disable', DO_NOT_TRACK: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`FerretDB did not start on port ${PORT}:\n${output}`)), 20_000);
    ferret!.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`FerretDB exited with ${code} on port ${PORT}:\n${output}`));
    });
    ferret!.stderr!.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      if (chunk.toString().includes('Listening on TCP')) {
        clearTimeout(timer);
        resolve();
      }
    });
  });
}

async function stopFerret(): Promise<void> {
  if (!ferret) return;
  const exited = new Promise((r) => ferret!.once('exit', r));
  ferret.kill('SIGKILL');
  await exited;
  ferret = null;
}

beforeAll(async () => {
  if (!existsSync(FERRETDB)) throw new Error(`${FERRETDB} is missing; run scripts/ensure-services.sh, which builds it`);
  const exists = execFileSync('psql', ['-h', '127.0.0.1', '-U', 'postgres', '-tAc', "select 1 from pg_database where datname='ferretdb_outage'"]).toString();
  if (!exists.includes('1')) execFileSync('psql', ['-h', '127.0.0.1', '-U', 'postgres', '-qc', 'create database ferretdb_outage']);
  PORT = await freePort();
  BASE = `mongodb://127.0.0.1:${PORT}`;
  await startFerret();
});

afterAll(async () => {
  if (!ferret) await startFerret().catch(() => undefined);
  await receiver?.close();
  await th?.destroy();
  await stopFerret();
});

const envelopes = (n: number, tag: string): Array<Record<string, unknown>> =>
  Array.from({ length: n }, (_, i) => ({ id: `evt_${tag}_${i}_${Date.now()}`, version: '1.0', timestamp: new Date().toISOString(), ...businessCreated() }));

it('pauses while the store is unreachable and loses nothing: every event delivered, every attempt recorded', async () => {
  th = await startTestHub({ mongoBase: BASE });
  receiver = await startReceiver();
  await th.api('POST', '/v1/subscriptions', { endpointUrl: receiver.url, events: ['business.created'] });
  await publishMany(th.prefix, envelopes(20, 'before'));
  await receiver.waitFor(20);

  await stopFerret();
  await waitUntil(async () => (await fetch(`${th.hub.url}/readyz`)).status === 503, 20_000);
  const outage = envelopes(30, 'during');
  await publishMany(th.prefix, outage);
  await new Promise((r) => setTimeout(r, 3000));
  await startFerret();

  const ids = (): Set<string> => new Set(receiver.requests.map((q) => String(q.json['id'])));
  await waitUntil(() => outage.every((e) => ids().has(String(e['id']))), 90_000, () => `${ids().size} distinct delivered`);
  await waitUntil(async () => (await countDocuments(th.database, 'delivery_attempts', { status: 'succeeded' }, BASE)) >= 50, 60_000);
  await waitUntil(async () => (await fetch(`${th.hub.url}/readyz`)).status === 200, 20_000);
});
