import { randomBytes } from 'node:crypto';
import { execFile, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { signPayload } from '../../src/transport/signing';
import { freePort } from '../support/local-server';
import { waitUntil } from '../support/receiver';
import { businessCreated, hubPerFile } from '../support/test-hub';

// Each receiver in examples/ as a user runs it, fed by an embedded hub: a delivery is verified,
// answered and recorded (the line it prints); a tampered body is refused.

const run = promisify(execFile);
const ROOT = path.resolve(__dirname, '../..');
const shared = hubPerFile({ mode: 'embedded' });
let scratch: string;
let running: ChildProcess[] = [];

beforeAll(async () => {
  scratch = mkdtempSync(path.join(os.tmpdir(), 'hh-examples-'));
  // hookhub/verify as an installed hookhub resolves it (package.json "exports" → dist/verify).
  await run(process.execPath, [require.resolve('typescript/bin/tsc'), 'src/verify/index.ts', '--ignoreConfig', '--outDir', 'dist/verify', '--module', 'node16', '--moduleResolution', 'node16', '--target', 'es2022', '--skipLibCheck', '--types', 'node'], { cwd: ROOT });
  mkdirSync(path.join(scratch, 'node_modules'));
  symlinkSync(ROOT, path.join(scratch, 'node_modules', 'hookhub'));
  await run('go', ['build', '-o', path.join(scratch, 'go-receiver'), '.'], { cwd: path.join(ROOT, 'examples', 'go') });
}, 120_000);

afterEach(async () => {
  await Promise.all(running.map((child) => new Promise((resolve) => (child.exitCode !== null ? resolve(null) : (child.once('exit', resolve), child.kill('SIGTERM'))))));
  running = [];
});

afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const examples: Array<[string, () => [string, string[], string]]> = [
  ['Node with Express and hookhub/verify', () => [process.execPath, ['server.js'], 'examples/node-express']],
  ['Node with standardwebhooks', () => [process.execPath, ['server.js'], 'examples/node-standardwebhooks']],
  ['Python, standard library only', () => ['python3', ['receiver.py'], 'examples/python']],
  ['Go, standard library only', () => [path.join(scratch, 'go-receiver'), [], 'examples/go']],
];

describe.each(examples)('examples: %s', (_name, command) => {
  it('verifies and records a delivery from the hub, answering 2xx; refuses a tampered body', async () => {
    const api = await shared.tenant();
    const port = await freePort();
    const url = `http://127.0.0.1:${port}/webhooks`;
    const sub = await api('POST', '/v1/subscriptions', { endpointUrl: url, events: ['business.created'] });
    expect(sub.status).toBe(201);
    const secret = String(sub.body['secret']);

    const [file, args, dir] = command();
    const lines: string[] = [];
    const child = spawn(file, args, {
      cwd: path.join(ROOT, dir),
      env: { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? '', NODE_PATH: path.join(scratch, 'node_modules'), HOOKHUB_SECRET: secret, PORT: String(port) },
    });
    running.push(child);
    let output = '';
    const collect = (chunk: Buffer): void => {
      output += chunk.toString('utf8');
      lines.push(...output.split('\n').slice(lines.length, -1));
    };
    child.stdout.on('data', collect);
    child.stderr.on('data', (chunk: Buffer) => (output += `[stderr] ${chunk.toString('utf8')}`));
    await waitUntil(() => lines.some((l) => l.startsWith('listening on')), 20_000, () => `the example did not start: ${output}`);

    const event = businessCreated({ id: `evt_${randomBytes(6).toString('hex')}` });
    expect((await api('POST', '/v1/events', event)).status).toBe(202);
    await waitUntil(() => lines.some((l) => / business\.created /.test(l) && l.endsWith(` ${String(event['id'])}`)), 20_000, () => `no verified line: ${output}`);
    const recorded = lines.find((l) => l.endsWith(` ${String(event['id'])}`))!;
    expect(recorded).toMatch(/^verified msg_\S+ business\.created /);

    // Signed with the subscription's secret, then changed on the way.
    const body = JSON.stringify({ ...event, id: 'evt_tampered' });
    const headers = { 'content-type': 'application/json', ...signPayload('msg_tampered', Math.floor(Date.now() / 1000), body, [secret]) };
    const tampered = await fetch(url, { method: 'POST', headers, body: body.replace('Blue Door', 'Red Door') });
    expect(tampered.status).toBeGreaterThanOrEqual(400);
    const intact = await fetch(url, { method: 'POST', headers, body });
    expect(intact.status).toBeGreaterThanOrEqual(200);
    expect(intact.status).toBeLessThan(300);
    await waitUntil(() => lines.some((l) => l.includes('evt_tampered')), 10_000, () => output);
    expect(lines.filter((l) => l.startsWith('verified')).map((l) => l.split(' ')[1])).toEqual([expect.stringMatching(/^msg_/), 'msg_tampered']);
  });
});
