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

/**
 * The heap bound comes from node's flags (`npm start` and the image give --max-old-space-size from
 * HOOKHUB_HEAP_MB): say so when the process runs without it, since V8's own default lets garbage grow
 * the process to several times the memory it needs.
 */
function warnWithoutHeapBound(heapMb: number, logger: Logger): void {
  const limitMb = Math.round(getHeapStatistics().heap_size_limit / (1024 * 1024));
  // The limit V8 reports adds the young generation to the old-generation bound.
  if (limitMb > heapMb + 64) {
    logger.warn(
      { heapLimitMb: limitMb, heapMb },
      `the V8 heap limit is ${limitMb} MB, not the HOOKHUB_HEAP_MB bound of ${heapMb} MB: start the hub with \`npm start\` or \`node --max-semi-space-size=4 --max-old-space-size=${heapMb} dist/main.js\``,
    );
  } else {
    logger.info({ heapLimitMb: limitMb }, 'V8 heap bound');
  }
}

export function startFromCommandLine(): void {
  runHubProcess().catch((err: unknown) => {
    process.stderr.write(`Hookhub failed to start: ${(err as Error)?.stack ?? String(err)}\n`);
    process.exit(1);
  });
}

if (require.main === module) startFromCommandLine();
