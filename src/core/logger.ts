import pino from 'pino';
import type { Logger } from 'pino';

export type { Logger };

/** Paths whose values never reach a log line. */
export const REDACTED_PATHS = [
  'secret',
  '*.secret',
  'secretSealed',
  '*.secretSealed',
  'previousSecretSealed',
  '*.previousSecretSealed',
  'apiKey',
  'req.headers.authorization',
  'headers.authorization',
  'headers["webhook-signature"]',
  'headers["x-webhook-signature"]',
];

/** The hub's logger at the level its creator read from the config (LOG_LEVEL). */
export function createLogger(options: { level: string }, destination?: pino.DestinationStream): Logger {
  const settings = {
    name: 'hookhub',
    level: options.level,
    redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
    base: { pid: process.pid },
  };
  return destination ? pino(settings, destination) : pino(settings);
}

export const silentLogger: Logger = pino({ level: 'silent' });
