// A Hookhub receiver built on the standardwebhooks npm package (Hookhub signs by the Standard
// Webhooks spec), with Node's http module only besides. It verifies, queues, answers 204 at once
// and handles the event afterwards.
//
//   npm install            # standardwebhooks
//   HOOKHUB_SECRET=whsec_... PORT=4000 node server.js
const { createServer } = require('node:http');
const { Webhook, WebhookVerificationError } = require('standardwebhooks');

const secret = process.env.HOOKHUB_SECRET;
if (!secret) {
  console.error('Set HOOKHUB_SECRET to the subscription\'s whsec_ secret.');
  process.exit(2);
}
// Accepts the whsec_ prefix; checks webhook-timestamp is within 5 minutes.
const webhook = new Webhook(secret);
const queue = [];

// Your work goes here; it runs after Hookhub has its answer. Dedupe on webhook-id.
function handle({ webhookId, event }) {
  console.log(`verified ${webhookId} ${event.type} ${event.id}`);
}

setInterval(() => {
  for (let job = queue.shift(); job; job = queue.shift()) handle(job);
}, 10).unref();

createServer((req, res) => {
  const chunks = [];
  req.on('data', (chunk) => chunks.push(chunk));
  req.on('end', () => {
    if (req.method !== 'POST') return res.writeHead(405).end();
    // Verify the raw body as received; verify() returns it parsed.
    const body = Buffer.concat(chunks).toString('utf8');
    try {
      const event = webhook.verify(body, req.headers);
      queue.push({ webhookId: req.headers['webhook-id'], event });
      res.writeHead(204).end();
    } catch (err) {
      if (!(err instanceof WebhookVerificationError)) throw err;
      console.log(`refused: ${err.message}`);
      res.writeHead(401, { 'content-type': 'application/json' }).end(JSON.stringify({ error: 'invalid_signature' }));
    }
  });
}).listen(Number(process.env.PORT || 4000), '127.0.0.1', function () {
  console.log(`listening on http://127.0.0.1:${this.address().port}/webhooks`);
});
