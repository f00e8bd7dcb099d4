// A local webhook receiver for the README's walk-through: it verifies each delivery's signature
// with Hookhub's verifier and prints the event. From the repository, after `npm start` (which
// builds dist/):
//
//   HOOKHUB_SECRET=whsec_... node examples/receiver.mjs       # listens on http://127.0.0.1:4000
//
// RECEIVER_PORT picks another port. Your own receiver installs the same verifier as the package
// @hookhub/verify (packages/verify).
import { createServer } from 'node:http';
import { createRequire } from 'node:module';

const secret = process.env.HOOKHUB_SECRET;
const port = Number(process.env.RECEIVER_PORT || 4000);
if (!secret) {
  console.error('Set HOOKHUB_SECRET to the subscription\'s secret: "secret" in the answer to POST /v1/subscriptions, or GET /v1/subscriptions/<id>/secret.');
  process.exit(2);
}

let verifyWebhook;
try {
  ({ verifyWebhook } = createRequire(import.meta.url)('../dist/verify/index.js'));
} catch {
  console.error('dist/verify is not built yet: run `npm start` (or `npm run build`) in the repository first.');
  process.exit(2);
}

createServer((req, res) => {
  const chunks = [];
  req.on('data', (chunk) => chunks.push(chunk));
  req.on('end', () => {
    // The signature covers the body exactly as sent: verify the raw bytes, parse afterwards.
    const body = Buffer.concat(chunks);
    try {
      const { webhookId } = verifyWebhook(body, req.headers, secret);
      const event = JSON.parse(body.toString('utf8'));
      console.log(`verified ${webhookId} ${event.type} ${JSON.stringify(event.data)}`);
      res.writeHead(204).end();
    } catch (err) {
      console.log(`refused ${req.method} ${req.url}: ${err.code ?? 'error'}: ${err.message}`);
      res.writeHead(400, { 'content-type': 'application/json' }).end(JSON.stringify({ error: err.code ?? 'invalid' }));
    }
  });
}).listen(port, '127.0.0.1', () => console.log(`receiver listening on http://127.0.0.1:${port}/hooks`));
