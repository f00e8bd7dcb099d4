import { ConfigError, loadConfig } from './config/config';
import { createLogger } from './core/logger';
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

export function startFromCommandLine(): void {
  runHubProcess().catch((err: unknown) => {
    process.stderr.write(`Hookhub failed to start: ${(err as Error)?.stack ?? String(err)}\n`);
    process.exit(1);
  });
}

if (require.main === module) startFromCommandLine();
