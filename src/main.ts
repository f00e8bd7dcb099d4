import { getHeapStatistics } from 'node:v8';
import { ConfigError, loadConfig } from './config/config';
import { createLogger } from './core/logger';
import type { Logger } from './core/logger';
import { Hub } from './hub';
import { PlansFileError } from './plans/loader';

/** Runs the hub as a process: config from the environment, signals, exit codes. */
export async function runHubProcess(): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\nFix these environment variables and start again (see README, Configuration).\n`);
      process.exit(78);
    }
    throw err;
  }
  const logger = createLogger({ level: config.logLevel });
  let hub: Hub;
  try {
    hub = new Hub(config, { logger });
  } catch (err) {
    if (err instanceof PlansFileError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(78);
    }
    throw err;
  }
  if (config.apiKeyGenerated && config.apiKey) {
    logger.info(`generated API key for tenant "default" (set HOOKHUB_API_KEY to choose one): ${config.apiKey}`);
  }
  await hub.start();
  warnWithoutHeapBound(config.memory.heapMb, logger);
  let stopping = false;
  const shutdown = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down: no new work, finishing what is in flight');
    hub.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}

/** The V8 settings `npm start` and the image give node (docs/memory.md), HOOKHUB_HEAP_MB the old generation's ceiling. */
export function heapFlags(heapMb: number): string[] {
  return ['--max-semi-space-size=2', '--heap-growing-percent=25', `--max-old-space-size=${heapMb}`];
}

/**
 * The memory settings come from node's flags: say so when the process runs without them, since V8's
 * own default lets garbage grow the process to several times the memory it needs.
 */
function warnWithoutHeapBound(heapMb: number, logger: Logger): void {
  const limitMb = Math.round(getHeapStatistics().heap_size_limit / (1024 * 1024));
  const missing = heapFlags(heapMb).filter((flag) => !process.execArgv.some((given) => given.split('=')[0] === flag.split('=')[0]));
  if (missing.length > 0) {
    logger.warn(
      { heapLimitMb: limitMb, missing },
      `this process runs without the hub's memory settings (${missing.join(' ')}): start it with \`npm start\` or \`node ${heapFlags(heapMb).join(' ')} dist/main.js\``,
    );
  } else {
    logger.info({ heapLimitMb: limitMb }, 'V8 heap settings');
  }
}

export function startFromCommandLine(): void {
  runHubProcess().catch((err: unknown) => {
    process.stderr.write(`Hookhub failed to start: ${(err as Error)?.stack ?? String(err)}\n`);
    process.exit(1);
  });
}

if (require.main === module) startFromCommandLine();
