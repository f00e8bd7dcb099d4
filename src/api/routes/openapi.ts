import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Router } from 'express';

const OPENAPI_FILE = path.resolve(__dirname, '../../../docs/openapi.json');

export function openApiRoutes(): Router {
  const router = Router();
  let document: unknown = null;
  router.get('/openapi.json', (_req, res) => {
    document ??= JSON.parse(readFileSync(OPENAPI_FILE, 'utf8'));
    res.json(document);
  });
  return router;
}
