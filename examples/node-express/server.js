// A Hookhub receiver with Express and hookhub/verify: it checks the signature over the raw body,
// puts the event on a queue, answers 204 at once and handles the event afterwards.
//
//   npm install            # express and hookhub (see package.json)
//   HOOKHUB_SECRET=whsec_... PORT=4000 node server.js
//
// Answer fast: Hookhub waits at most its timeout for a 2xx and retries otherwise, so slow work
// belongs after the answer. Dedupe on webhook-id: a retried or replayed event keeps it.
const express = require('express');
const { verifyWebhook, WebhookVerificationError } = require('hookhub/verify');

const secret = process.env.HOOKHUB_SECRET;
if (!secret) {
  console.error('Set HOOKHUB_SECRET to the subscription\'s secret (whsec_..., or the whpk_ public key of an Ed25519 subscription).');
  process.exit(2);
}

const queue = [];
const seen = new Set();

// Your work goes here; it runs after Hookhub has its answer.
function handle({ webhookId, event }) {
  console.log(`verified ${webhookId} ${event.type} ${event.id}`);
}

setInterval(() => {
  for (let job = queue.shift(); job; job = queue.shift()) handle(job);
}, 10).unref();

const app = express();
// The signature covers the bytes exactly as sent: keep the raw body, parse after verifying.
app.post('/webhooks', express.raw({ type: '*/*', limit: '1mb' }), (req, res) => {
  try {
    const { webhookId } = verifyWebhook(req.body, req.headers, secret);
    if (!seen.has(webhookId)) {
      seen.add(webhookId);
      queue.push({ webhookId, event: JSON.parse(req.body.toString('utf8')) });
    }
    res.sendStatus(204);
  } catch (err) {
    if (!(err instanceof WebhookVerificationError)) throw err;
    console.log(`refused: ${err.code}`);
    res.status(401).json({ error: err.code });
  }
});

const port = Number(process.env.PORT || 4000);
app.listen(port, '127.0.0.1', () => console.log(`listening on http://127.0.0.1:${port}/webhooks`));
