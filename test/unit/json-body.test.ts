import http from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { errorHandler } from '../../src/api/errors';
import { jsonBody } from '../../src/api/json-body';
import { exceedsDepth, MAX_JSON_DEPTH } from '../../src/core/json-depth';
import { silentLogger } from '../../src/core/logger';

let server: Server;
let base: string;

beforeAll(async () => {
  const app = express();
  app.use(jsonBody({ maxBytes: 1024 * 1024 }));
  // Echoes what the route saw as the body.
  app.all('/echo', (req, res) => {
    res.json({ body: (req.body as unknown) ?? null });
  });
  app.use(errorHandler(silentLogger));
  server = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
});

const send = (method: string, body: string | undefined, contentType?: string): Promise<Response> =>
  fetch(`${base}/echo`, { method, ...(body === undefined ? {} : { body }), headers: contentType ? { 'content-type': contentType } : {} });

describe('exceedsDepth', () => {
  const nest = (levels: number): unknown => JSON.parse('['.repeat(levels) + ']'.repeat(levels));

  it('counts a top-level object or array as level 1 and scalars as nothing', () => {
    expect(exceedsDepth('text', 0)).toBe(false);
    expect(exceedsDepth({}, 1)).toBe(false);
    expect(exceedsDepth({ a: { b: [1] } }, 3)).toBe(false);
    expect(exceedsDepth({ a: { b: [1] } }, 2)).toBe(true);
    expect(exceedsDepth(nest(MAX_JSON_DEPTH), MAX_JSON_DEPTH)).toBe(false);
    expect(exceedsDepth(nest(MAX_JSON_DEPTH + 1), MAX_JSON_DEPTH)).toBe(true);
  });

  it('walks 100,000 levels without overflowing the stack', () => {
    expect(exceedsDepth(nest(100_000), MAX_JSON_DEPTH)).toBe(true);
  });
});

describe('jsonBody', () => {
  it.each(['POST', 'PUT', 'PATCH'])('refuses a %s body that is not JSON with 415 and the error body', async (method) => {
    const response = await send(method, 'a=1', 'application/x-www-form-urlencoded');
    expect(response.status).toBe(415);
    expect(await response.json()).toMatchObject({ error: { code: 'unsupported_media_type', message: expect.stringContaining('Content-Type: application/json') } });
  });

  it('leaves bodies of GET and DELETE alone: those routes take none', async () => {
    // fetch sends no body with GET, so node:http sends these.
    for (const method of ['GET', 'DELETE']) {
      const answer = await new Promise<{ status: number; text: string }>((resolve, reject) => {
        const req = http.request(`${base}/echo`, { method, headers: { 'content-type': 'text/plain', 'content-length': '5' } }, (res) => {
          let text = '';
          res.on('data', (c: Buffer) => (text += c.toString()));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
        });
        req.on('error', reject);
        req.end('{"a":');
      });
      expect([method, answer.status, JSON.parse(answer.text)]).toEqual([method, 200, { body: null }]);
    }
  });

  it('reads JSON and +json types, and lets an empty body of any type through', async () => {
    expect(await (await send('POST', '{"a":1}', 'application/json; charset=utf-8')).json()).toEqual({ body: { a: 1 } });
    expect(await (await send('PATCH', '{"a":2}', 'application/merge-patch+json')).json()).toEqual({ body: { a: 2 } });
    expect((await send('POST', '', 'text/plain')).status).toBe(200);
    expect((await send('POST', undefined)).status).toBe(200);
  });

  it('refuses JSON nested past the limit with 422 naming it', async () => {
    const response = await send('POST', `{"a":${'['.repeat(MAX_JSON_DEPTH)}${']'.repeat(MAX_JSON_DEPTH)}}`, 'application/json');
    expect(response.status).toBe(422);
    expect(await response.json()).toEqual({
      error: { code: 'body_too_deep', message: expect.stringContaining(`the limit is ${MAX_JSON_DEPTH}`), details: { maxDepth: MAX_JSON_DEPTH } },
    });
  });

  it('answers 415 with the same code for a charset it cannot read', async () => {
    const response = await send('POST', '{"a":1}', 'application/json; charset=klingon');
    expect(response.status).toBe(415);
    expect(await response.json()).toMatchObject({ error: { code: 'unsupported_media_type', message: expect.stringContaining('unsupported charset "KLINGON"') } });
  });
});
