import * as fs from 'node:fs';
import path from 'node:path';
import express, { Router } from 'express';
import type { Response } from 'express';
import type { HubConfig } from '../config/config';
import { errorBody } from './errors';

/**
 * The console's Content-Security-Policy: only the hub's own scripts, styles and API; no inline
 * script or style element, no framing, no other origin. The console's data comes from /v1 only.
 */
export const CONSOLE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "manifest-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

function secureHeaders(res: Response): void {
  res.set({
    'Content-Security-Policy': CONSOLE_CSP,
    'X-Content-Type-Options': 'nosniff',
    'X-Frame-Options': 'DENY',
    'Referrer-Policy': 'no-referrer',
    'Cross-Origin-Opener-Policy': 'same-origin',
  });
}

/**
 * The web console at /console, built by `npm run build` into dist/console (HOOKHUB_CONSOLE_DIR):
 * hashed assets cached for a year, index.html never, and every other /console path answered with
 * index.html (the console routes in the browser).
 */
export function consoleRoutes(config: HubConfig): Router {
  const router = Router();
  const dir = config.console.dir;
  const index = path.join(dir, 'index.html');
  router.use('/console', (_req, res, next) => {
    secureHeaders(res);
    next();
  });
  router.use('/console/assets', express.static(path.join(dir, 'assets'), {
    index: false,
    fallthrough: false,
    immutable: true,
    maxAge: '365d',
  }));
  router.use('/console', express.static(dir, { index: false, redirect: false, setHeaders: (res) => res.set('Cache-Control', 'no-cache') }));
  router.get(/^\/console(\/.*)?$/, (req, res) => {
    if (!fs.existsSync(index)) {
      res.status(503).json(errorBody('console_not_built', `The console is not built in ${dir}. Run "npm run build" (or set HOOKHUB_CONSOLE_DIR to where it was built).`));
      return;
    }
    if (req.path === '/console') {
      res.redirect(301, '/console/');
      return;
    }
    res.set('Cache-Control', 'no-cache');
    res.sendFile(index);
  });
  return router;
}
