import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { generateEd25519KeyPair, generateSecret, signPayload } from '../../src/transport/signing';

const run = promisify(execFile);
const ROOT = path.resolve(__dirname, '../..');
const PACKAGE_DIR = path.join(ROOT, 'packages', 'verify');
const env = { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? '' };

let scratch: string;
let app: string;
let tarball: string;
let packed: string[];

// A receiver's project far from this repository, so that nothing resolves from the hub's node_modules.
beforeAll(async () => {
  scratch = mkdtempSync(path.join(os.tmpdir(), 'hh-verify-'));
  const { stdout } = await run('npm', ['pack', '--json', '--pack-destination', scratch], { cwd: PACKAGE_DIR, env });
  const [info] = JSON.parse(String(stdout)) as Array<{ filename: string; files: Array<{ path: string }> }>;
  tarball = path.join(scratch, info!.filename);
  packed = info!.files.map((f) => f.path).sort();
  app = path.join(scratch, 'receiver');
  mkdirSync(app);
  writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'receiver', version: '1.0.0', private: true }));
  await run('npm', ['install', '--offline', '--no-audit', '--no-fund', tarball], { cwd: app, env });
}, 180_000);

afterAll(() => {
  rmSync(scratch, { recursive: true, force: true });
  rmSync(path.join(PACKAGE_DIR, 'dist'), { recursive: true, force: true });
});

/** One delivery signed by the hub for each scheme, and the key a receiver verifies it with. */
function deliveries(): Array<{ body: string; headers: Record<string, string>; key: string }> {
  const now = Math.floor(Date.now() / 1000);
  const body = JSON.stringify({ id: 'evt_1', type: 'business.created', data: { name: 'Blue Door' } });
  const secret = generateSecret();
  const pair = generateEd25519KeyPair();
  return [
    { body, headers: { ...signPayload('msg_1', now, body, [secret]) } as Record<string, string>, key: secret },
    { body, headers: { ...signPayload('msg_2', now, body, [pair.secretKey]) } as Record<string, string>, key: pair.publicKey },
  ];
}

const receiverScript = `
  const cases = JSON.parse(require('node:fs').readFileSync('cases.json', 'utf8'));
  const results = cases.map((c) => {
    const ok = verifyWebhook(c.body, c.headers, c.key).signatureVersion;
    let forged = null;
    try { verifyWebhook(c.body.replace('Blue', 'Red'), c.headers, c.key); } catch (err) { forged = err instanceof WebhookVerificationError ? err.code : String(err); }
    return { ok, forged };
  });
  process.stdout.write(JSON.stringify(results));
`;
const expected = [
  { ok: 'v1', forged: 'invalid_signature' },
  { ok: 'v1a', forged: 'invalid_signature' },
];

describe('@hookhub/verify, packed and installed as a receiver would', () => {
  it('packs only the built module, its types, README and package.json', () => {
    expect(packed).toEqual(['README.md', 'dist/index.d.ts', 'dist/index.js', 'package.json']);
  });

  it('verifies the hub\'s v1 and v1a signatures, and refuses a changed body, from require()', async () => {
    writeFileSync(path.join(app, 'cases.json'), JSON.stringify(deliveries()));
    const script = `const { verifyWebhook, WebhookVerificationError } = require('@hookhub/verify');${receiverScript}`;
    const { stdout } = await run(process.execPath, ['-e', script], { cwd: app, env });
    expect(JSON.parse(String(stdout))).toEqual(expected);
  });

  it('does the same from an ES module import', async () => {
    writeFileSync(path.join(app, 'cases.json'), JSON.stringify(deliveries()));
    const script = `import { createRequire } from 'node:module'; import { verifyWebhook, WebhookVerificationError } from '@hookhub/verify';
      const require = createRequire(process.cwd() + '/');${receiverScript}`;
    const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script], { cwd: app, env });
    expect(JSON.parse(String(stdout))).toEqual(expected);
  });

  it('gives TypeScript receivers its types', async () => {
    writeFileSync(
      path.join(app, 'check.ts'),
      [
        "import { verifyWebhook, WebhookVerificationError } from '@hookhub/verify';",
        "import type { WebhookVerificationErrorCode } from '@hookhub/verify';",
        "const version: 'v1' | 'v1a' = verifyWebhook('{}', { 'webhook-id': 'msg_1' }, 'whsec_AAAA').signatureVersion;",
        "const code: WebhookVerificationErrorCode = new WebhookVerificationError('invalid_key', 'x').code;",
        'export { version, code };',
      ].join('\n'),
    );
    const tsc = path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
    const args = ['--noEmit', '--strict', '--module', 'node16', '--moduleResolution', 'node16', '--typeRoots', path.join(ROOT, 'node_modules', '@types'), '--types', 'node', 'check.ts'];
    await expect(run(process.execPath, [tsc, ...args], { cwd: app, env })).resolves.toBeDefined();
    writeFileSync(path.join(app, 'wrong.ts'), "import { verifyWebhook } from '@hookhub/verify';\nverifyWebhook('{}', {}, 42);\n");
    await expect(run(process.execPath, [tsc, ...args.slice(0, -1), 'wrong.ts'], { cwd: app, env })).rejects.toMatchObject({
      stdout: expect.stringContaining("Argument of type 'number' is not assignable to parameter of type 'string'"),
    });
  });
});
