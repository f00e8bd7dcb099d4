import type { RequestHandler } from 'express';
import type { Logger } from '../core/logger';
import type { Principal } from './auth';

const PROBES = new Set(['/healthz', '/readyz', '/metrics']);

/**
 * One structured line per request: method, path, status, duration, tenant and
 * key id. Never the query string (OAuth codes and states travel there), headers
 * or bodies; path segments that are credentials themselves are masked.
 */
export function accessLog(logger: Logger): RequestHandler {
  return (req, res, next) => {
    const started = process.hrtime.bigint();
    res.once('close', () => {
      const principal = res.locals['principal'] as Principal | undefined;
      const path = safePath(req.originalUrl);
      const line = {
        method: req.method,
        path,
        status: res.statusCode,
        durationMs: Math.round(Number(process.hrtime.bigint() - started) / 1e4) / 100,
        tenantId: principal?.tenantId ?? null,
        apiKeyId: principal?.keyId ?? null,
        ...(res.writableFinished ? {} : { aborted: true }),
      };
      if (PROBES.has(path)) logger.debug(line, 'api request');
      else logger.info(line, 'api request');
    });
    next();
  };
}

/** The path without the query; the single-use handle of an OAuth start link and a tunnel URL's token are masked. */
export function safePath(url: string): string {
  const path = url.split('?', 1)[0] ?? '';
  return path.replace(/^(\/oauth\/start\/)[^/]+/i, '$1[redacted]').replace(/^(\/t\/)[^/]+/, '$1[redacted]').slice(0, 512);
}
