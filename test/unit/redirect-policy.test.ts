import { HubError } from '../../src/core/errors';
import { RedirectPolicy } from '../../src/integrations/redirect-policy';
import { originOf } from '../../src/integrations/tenant-settings';

/** Where a linking flow may send the browser back to: the tenant's origins, the hub's, or (with neither) any. */
function policy(hubOrigins: string[], tenants: Record<string, string[]>, production = false): RedirectPolicy {
  return new RedirectPolicy({ production, hubOrigins, tenantOrigins: async (tenantId) => tenants[tenantId] ?? [] });
}

async function refusal(run: Promise<unknown>): Promise<HubError> {
  const err = await run.then(() => null, (e: unknown) => e);
  if (!(err instanceof HubError)) throw new Error(`expected a refusal, got ${String(err)}`);
  return err;
}

describe('RedirectPolicy', () => {
  it("accepts an origin in the tenant's list or the hub's, and names both lists and how to allow it otherwise", async () => {
    const p = policy(['https://hub.example.com'], { t1: ['https://one.example.com'], t2: ['https://two.example.com'] });
    await expect(p.check('t1', 'https://one.example.com/x?y=1')).resolves.toBe('https://one.example.com/x?y=1');
    await expect(p.check('t1', 'https://hub.example.com/back')).resolves.toBe('https://hub.example.com/back');
    const err = await refusal(p.check('t1', 'https://two.example.com/back'));
    expect(err.status).toBe(400);
    expect(err.message).toBe(
      "redirectAfter goes to https://two.example.com, which is not an allowed origin for account linking (your tenant's: https://one.example.com; this hub's: https://hub.example.com). " +
        'To allow it, add "https://two.example.com" to your tenant\'s list with PUT /v1/settings {"oauth": {"redirectOrigins": [...]}} (admin scope), or ask the operator to add it to HOOKHUB_OAUTH_REDIRECT_ORIGINS.',
    );
    // A tenant without a list of its own is held to the hub's.
    expect((await refusal(p.check('t3', 'https://one.example.com/'))).message).toContain("(this hub's: https://hub.example.com)");
  });

  it('with neither list, keeps the default: any http(s) URL, https only in production; the length limit always', async () => {
    await expect(policy([], {}).check('t', 'http://anything.example.org/back')).resolves.toBe('http://anything.example.org/back');
    await expect(refusal(policy([], {}, true).check('t', 'http://anything.example.org/back'))).resolves.toMatchObject({ message: expect.stringContaining('must be an https URL') });
    await expect(refusal(policy([], { t: ['https://a.example.com'] }).check('t', `https://a.example.com/?q=${'a'.repeat(2048)}`))).resolves.toMatchObject({ message: expect.stringContaining('at most 2048') });
    await expect(policy([], {}).check('t', null)).resolves.toBeNull();
  });
});

describe('originOf (a tenant-listed origin)', () => {
  it('normalizes an https origin and allows http only for localhost outside production', () => {
    expect(originOf('https://App.Example.com:443/', false)).toEqual({ origin: 'https://app.example.com' });
    expect(originOf('http://localhost:5173', false)).toEqual({ origin: 'http://localhost:5173' });
    expect(originOf('http://127.0.0.1:3000/', false)).toEqual({ origin: 'http://127.0.0.1:3000' });
    expect(originOf('http://localhost:5173', true)).toEqual({ problem: expect.stringContaining('must be an https origin') });
    expect(originOf('http://app.example.com', false)).toEqual({ problem: expect.stringContaining('https (http only for localhost)') });
  });

  it('refuses paths, queries, fragments, credentials, wildcards and what is not a URL', () => {
    for (const value of ['https://a.example.com/app', 'https://a.example.com?x=1', 'https://a.example.com/#top', 'https://a.example.com?', 'https://u:p@a.example.com', 'https://*.example.com', 'a.example.com', 'javascript:alert(1)']) {
      expect(originOf(value, false)).toEqual({ problem: expect.any(String) });
    }
  });
});
