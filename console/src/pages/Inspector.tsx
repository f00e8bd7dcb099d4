import { useEffect, useState } from 'react';
import { api, isMissingRoute } from '../api';
import type { Json } from '../api';
import { ActionButton, JsonView, PageHeader, errorText } from '../components/ui';
import { eventTypes } from '../eventTypes';
import type { EventType } from '../eventTypes';
import { validate } from '../schema';

/** Standard Webhooks: base64 HMAC-SHA256 of "id.timestamp.body" with the secret after "whsec_". */
async function verifySignature(secret: string, id: string, timestamp: string, body: string, signatures: string): Promise<boolean> {
  const raw = Uint8Array.from(atob(secret.replace(/^whsec_/, '')), (c) => c.charCodeAt(0));
  const key = await crypto.subtle.importKey('raw', raw, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
  const mac = new Uint8Array(await crypto.subtle.sign('HMAC', key, new TextEncoder().encode(`${id}.${timestamp}.${body}`)));
  const expected = btoa(String.fromCharCode(...mac));
  return signatures.split(' ').some((s) => s.split(',')[1] === expected);
}

export default function Inspector() {
  const [types, setTypes] = useState<EventType[]>([]);
  const [text, setText] = useState('');
  const [result, setResult] = useState<unknown>(null);
  const [secret, setSecret] = useState('');
  const [sig, setSig] = useState({ id: '', timestamp: '', signature: '' });
  const [verdict, setVerdict] = useState<string | null>(null);
  useEffect(() => {
    void eventTypes().then(setTypes);
  }, []);
  let parsed: Json | null = null;
  let problems: string[] = [];
  try {
    parsed = text.trim() === '' ? null : (JSON.parse(text) as Json);
    const et = types.find((t) => t.type === parsed?.['type']);
    if (parsed && !et) problems.push(`type "${String(parsed['type'])}" is not in the event catalog.`);
    if (parsed && et) problems = validate(et.schema, parsed['data'], '/data').map((p) => `${p.path} ${p.message}`);
  } catch (err) {
    problems = [`Not JSON: ${(err as Error).message}`];
  }
  return (
    <>
      <PageHeader title="Payload inspector" />
      <section aria-labelledby="paste">
        <h2 id="paste">Event or received request body</h2>
        <label htmlFor="payload">Paste an event ({'{"type": ..., "data": ...}'}) or the body your endpoint received</label>
        <textarea id="payload" rows={12} value={text} onChange={(e) => setText(e.target.value)} spellCheck={false} />
        <div aria-live="polite" data-testid="inspector-problems">
          {text.trim() === '' ? null : problems.length === 0 ? <p className="ok">Matches its schema.</p> : (
            <ul className="checks error">
              {problems.map((p) => (
                <li key={p}>{p}</li>
              ))}
            </ul>
          )}
        </div>
        <ActionButton
          onRun={async () => {
            try {
              setResult(await api('POST', '/v1/events/inspect', parsed));
            } catch (err) {
              setResult(isMissingRoute(err) ? { note: 'This hub has no inspect API yet; the schema check above is done here in the browser.' } : { error: errorText(err) });
            }
          }}
        >
          Which subscriptions match, and what each receives
        </ActionButton>
        {result !== null && <JsonView value={result} label="Inspection" />}
      </section>
      <section aria-labelledby="verify">
        <h2 id="verify">Check a signature</h2>
        <p className="muted">Checked by the hub's verifier (nothing is stored), or in this browser where the hub has none.</p>
        <div className="filters">
          <div>
            <label htmlFor="v-secret">Secret (whsec_…)</label>
            <input id="v-secret" type="password" autoComplete="off" value={secret} onChange={(e) => setSecret(e.target.value)} />
          </div>
          <div>
            <label htmlFor="v-id">webhook-id</label>
            <input id="v-id" value={sig.id} onChange={(e) => setSig({ ...sig, id: e.target.value })} />
          </div>
          <div>
            <label htmlFor="v-ts">webhook-timestamp</label>
            <input id="v-ts" value={sig.timestamp} onChange={(e) => setSig({ ...sig, timestamp: e.target.value })} />
          </div>
          <div>
            <label htmlFor="v-sig">webhook-signature</label>
            <input id="v-sig" value={sig.signature} onChange={(e) => setSig({ ...sig, signature: e.target.value })} />
          </div>
          <ActionButton
            onRun={async () => {
              const headers = { 'webhook-id': sig.id, 'webhook-timestamp': sig.timestamp, 'webhook-signature': sig.signature };
              try {
                // The hub's verifier says which check fails and why; without it, the HMAC is checked here.
                const r = await api<Json>('POST', '/v1/webhooks/verify', { headers, body: text, secret });
                setVerdict(r['valid'] === true ? 'The signature is valid for this body.' : `Not valid: ${String((r['failure'] as Json | null)?.['message'] ?? JSON.stringify(r))}`);
                setResult(r);
              } catch (err) {
                if (!isMissingRoute(err)) {
                  setVerdict(`Could not check: ${errorText(err)}`);
                  return;
                }
                try {
                  setVerdict((await verifySignature(secret, sig.id, sig.timestamp, text, sig.signature)) ? 'The signature is valid for this body.' : 'The signature does not match this body and secret.');
                } catch (e) {
                  setVerdict(`Could not check: ${errorText(e)}`);
                }
              }
            }}
          >
            Check signature
          </ActionButton>
        </div>
        {verdict && <p role="status">{verdict}</p>}
      </section>
    </>
  );
}
