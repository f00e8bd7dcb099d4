import { execFileSync } from 'node:child_process';
import { readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { ROOT, TEST_BUILD_DIR } from './entry';

/**
 * Integration tests need RabbitMQ and a MongoDB-protocol server. `npm test`
 * starts them (scripts/ensure-services.sh); this check turns a missing one into
 * one clear failure instead of dozens of timeouts.
 */
export default async function globalSetup(): Promise<void> {
  const needed: Array<[string, number]> = [
    ['RabbitMQ', 5672],
    ['MongoDB/FerretDB', Number(new URL(process.env['HOOKHUB_TEST_MONGODB_URL'] ?? 'mongodb://127.0.0.1:27017').port || 27017)],
  ];
  const down: string[] = [];
  for (const [name, port] of needed) {
    if (!(await reachable(port))) down.push(`${name} (127.0.0.1:${port})`);
  }
  if (down.length > 0) {
    throw new Error(`Integration services are not running: ${down.join(', ')}. Run \`bash scripts/ensure-services.sh\` or \`npm test\`, which starts them.`);
  }
  buildForTests();
  // The test workers' in-process hubs start their expression sandboxes from the build too.
  process.env['HOOKHUB_SANDBOX_CHILD'] = path.join(TEST_BUILD_DIR, 'core', 'sandbox', 'child.js');
}

/**
 * Compiles src/ into .test-dist for the processes the tests start (hubs, CLI commands), anew whenever
 * a source file is newer than the last build: those processes then start from JavaScript, as in
 * production, rather than compiling TypeScript on every start.
 */
function buildForTests(): void {
  const stamp = path.join(TEST_BUILD_DIR, '.built');
  const built = mtimeOf(stamp);
  if (built !== null && newestSource(path.join(ROOT, 'src')) < built && mtimeOf(path.join(ROOT, 'tsconfig.json'))! < built) return;
  rmSync(TEST_BUILD_DIR, { recursive: true, force: true });
  execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', 'tsconfig.json', '--outDir', TEST_BUILD_DIR, '--noCheck', '--sourceMap', 'false'], { cwd: ROOT, stdio: 'inherit' });
  writeFileSync(stamp, new Date().toISOString());
}

function mtimeOf(file: string): number | null {
  try {
    return statSync(file).mtimeMs;
  } catch {
    return null;
  }
}

function newestSource(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    // A directory's own time changes when a file in it is removed or renamed.
    newest = Math.max(newest, mtimeOf(full) ?? 0, entry.isDirectory() ? newestSource(full) : 0);
  }
  return newest;
}

function reachable(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.setTimeout(2000);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
    socket.once('timeout', () => {
      socket.destroy();
      resolve(false);
    });
  });
}
