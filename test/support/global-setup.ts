import net from 'node:net';
import path from 'node:path';
import { compileIfStale } from './compile';
import { TEST_BUILD_DIR } from './entry';

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
  // The processes the tests start (hubs, CLI commands) run from this build.
  compileIfStale(TEST_BUILD_DIR);
  // The test workers' in-process hubs start their expression sandboxes from the build too.
  process.env['HOOKHUB_SANDBOX_CHILD'] = path.join(TEST_BUILD_DIR, 'core', 'sandbox', 'child.js');
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
