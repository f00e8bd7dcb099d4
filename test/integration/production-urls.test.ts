import { hubPerFile } from '../support/test-hub';

type Json = Record<string, unknown>;
type Problem = { path: string; message: string };

/**
 * A production hub (NODE_ENV=production, so the SSRF guard cannot be turned off): the URLs a
 * tenant gives, of endpoints and of connector links alike, are judged when they are registered.
 */
const hub = hubPerFile({ env: { NODE_ENV: 'production', HOOKHUB_ALLOW_PRIVATE_NETWORKS: 'false' } });

/** A public address given as an IP literal: this machine resolves no public names, and nothing is sent at registration. */
const PUBLIC = 'https://93.184.215.14';

function problemsOf(response: { status: number; body: Json }): Problem[] {
  expect(response.status).toBe(400);
  const error = response.body['error'] as { code: string; details: Problem[] };
  expect(error.code).toBe('validation_failed');
  return error.details;
}

describe('endpoint URLs of subscriptions', () => {
  it.each(['https://[::127.0.0.1]/hook', 'https://[::7f00:1]:8443/hook', 'https://[::8.8.8.8]/hook', 'https://[0:0:0:0:0:0:a00:1]/hook'])(
    'refuses the IPv4-compatible IPv6 address in %s (::/96) when registered and when changed to',
    async (endpointUrl) => {
      const api = await hub.tenant();
      const refused = problemsOf(await api('POST', '/v1/subscriptions', { endpointUrl, events: ['business.created'] }));
      expect(refused).toEqual([{ path: '/endpointUrl', message: expect.stringMatching(/^resolves to ::[0-9a-f:]+, a private or reserved address, which Hookhub does not deliver to\. Use a URL on a public address/) }]);
      const created = await api('POST', '/v1/subscriptions', { endpointUrl: `${PUBLIC}/hook`, events: ['business.created'] });
      expect(created.status).toBe(201);
      expect(problemsOf(await api('PATCH', `/v1/subscriptions/${String(created.body['id'])}`, { endpointUrl }))).toEqual([{ path: '/endpointUrl', message: expect.stringContaining('private or reserved') }]);
    },
  );

  it('refuses credentials in the URL, pointing to secret headers, and stores nothing', async () => {
    const api = await hub.tenant();
    const refused = problemsOf(await api('POST', '/v1/subscriptions', { endpointUrl: `https://receiver:hunter2@93.184.215.14/hook`, events: ['business.created'] }));
    expect(refused).toEqual([{ path: '/endpointUrl', message: expect.stringMatching(/^must not carry credentials .*secret header.*"secret": true/) }]);
    expect((await api('GET', '/v1/subscriptions')).body['data']).toEqual([]);
  });
});

describe('URL settings of connector links', () => {
  const link = (url: string, more: Json = {}): Json => ({ connector: 'webhook-custom', config: { url, ...more } });

  it.each([
    ['loopback', 'https://127.0.0.1:8443/leads'],
    ['a name that resolves to loopback', 'https://localhost/leads'],
    ['IPv6 loopback', 'https://[::1]/leads'],
    ['IPv4-compatible IPv6', 'https://[::127.0.0.1]/leads'],
    ['cloud metadata', 'https://169.254.169.254/latest/meta-data'],
    ['a private network', 'https://10.0.0.8/leads'],
  ])('refuses a webhook-custom url on %s when linked, with a message for the tenant', async (_name, url) => {
    const api = await hub.tenant();
    const [problem, ...more] = problemsOf(await api('POST', '/v1/connections', link(url)));
    expect(more).toEqual([]);
    expect(problem).toEqual({ path: '/config/url', message: expect.stringMatching(/^resolves to \S+, a private or reserved address, which Hookhub does not deliver to\. Use a URL on a public address, reachable from the internet\.$/) });
    // Nothing an operator setting could change is suggested to the tenant (production refuses it anyway).
    expect(problem?.message).not.toContain('HOOKHUB_');
    expect((await api('GET', '/v1/connections')).body['data']).toEqual([]);
  });

  it('links a public https url, and refuses changing it to a private one or to http', async () => {
    const api = await hub.tenant();
    const created = await api('POST', '/v1/connections', link(`${PUBLIC}/leads`));
    expect(created.status).toBe(201);
    const id = String(created.body['id']);
    expect(problemsOf(await api('PATCH', `/v1/connections/${id}`, { config: { url: 'https://127.0.0.1/leads' } }))).toEqual([
      { path: '/config/url', message: expect.stringContaining('private or reserved') },
    ]);
    expect(problemsOf(await api('PATCH', `/v1/connections/${id}`, { config: { url: `http://93.184.215.14/leads` } }))).toEqual([
      { path: '/config/url', message: 'must use https in production' },
    ]);
    expect((await api('GET', `/v1/connections/${id}`)).body['config']).toEqual({ url: `${PUBLIC}/leads` });
  });

  it('refuses credentials in a URL setting, pointing to the settings stored encrypted, and stores nothing', async () => {
    const api = await hub.tenant();
    const response = await api('POST', '/v1/connections', link('https://crm-user:hunter2@93.184.215.14/leads'));
    expect(problemsOf(response)).toEqual([
      {
        path: '/config/url',
        message: expect.stringMatching(/^must not carry credentials .*; put them in config\.auth\.token, config\.auth\.password, config\.signing_secret instead, which are stored encrypted/),
      },
    ]);
    const listed = await api('GET', '/v1/connections');
    expect(listed.body['data']).toEqual([]);
    expect(JSON.stringify(listed.body)).not.toContain('hunter2');
  });
});
