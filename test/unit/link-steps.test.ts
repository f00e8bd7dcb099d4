import path from 'node:path';
import { loadManifest } from '../../src/connectors/loader';
import type { LoadedConnector } from '../../src/connectors/loader';
import { LinkStepError, runLinkSteps } from '../../src/connectors/link-steps';
import type { OutgoingRequest } from '../../src/connectors/hooks';
import type { HttpResult } from '../../src/transport/http-sender';
import { tempManifests } from '../support/temp-manifests';

/**
 * A manifest's link_steps, run on a fresh token response as the hub does right after the code exchange:
 * the Facebook Pages connector's own steps (a long-lived token, then a Page chosen from the listing)
 * against canned answers, and the problems a manifest's steps are refused for.
 */
const APP = { client_id: 'app-1', client_secret: 'app-secret-123456' };
const TOKEN = { access_token: 'short-lived-user-token', token_type: 'bearer', expires_in: 3600, scope: 'pages_show_list' };

function facebook(): LoadedConnector {
  const file = path.resolve(__dirname, '../../connectors/facebook-pages/connector.yaml');
  const result = loadManifest(file, path.dirname(path.dirname(file)));
  if (!result.ok) throw new Error(JSON.stringify(result.problems));
  return result.connector;
}

function json(status: number, body: unknown): HttpResult {
  return { status, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body), durationMs: 1, error: null, errorCode: null };
}

/** A transport answering each action with its canned answer, recording what was sent. */
function graph(pages: unknown[], answers: Record<string, HttpResult> = {}): { sent: Array<{ action: string; request: OutgoingRequest }>; send(action: string, request: OutgoingRequest): Promise<HttpResult> } {
  const sent: Array<{ action: string; request: OutgoingRequest }> = [];
  return {
    sent,
    send: async (action, request) => {
      sent.push({ action, request });
      return answers[action] ?? (action === 'long_lived_token' ? json(200, { access_token: 'long-lived-user-token', token_type: 'bearer', expires_in: 5183944 }) : json(200, { data: pages }));
    },
  };
}

const page = (id: string, name: string, tasks = ['CREATE_CONTENT', 'MANAGE']): Record<string, unknown> => ({ id, name, access_token: `page-token-${id}`, tasks });

describe('link steps', () => {
  const connector = facebook();

  it('send the app and the token so far, replace the token field by field (null removes one) and keep values', async () => {
    const transport = graph([page('111', 'Bakery')]);
    const linked = await runLinkSteps(connector, { config: {}, token: TOKEN, app: APP }, transport);
    expect(linked).toEqual({
      token: { access_token: 'page-token-111', token_type: 'bearer', scope: 'pages_show_list' },
      kept: { page_id: '111', page_name: 'Bakery' },
    });
    const [exchange, listing] = transport.sent;
    expect(exchange!.request.url).toBe(
      'https://graph.facebook.com/v26.0/oauth/access_token?grant_type=fb_exchange_token&client_id=app-1&client_secret=app-secret-123456&fb_exchange_token=short-lived-user-token',
    );
    expect(listing!.request.headers['authorization']).toBe('Bearer long-lived-user-token');
  });

  it('choose the Page page_id names, go to the base URL override, and refuse with the Pages listed when they cannot choose', async () => {
    const pages = [page('111', 'North'), page('222', 'South')];
    const chosen = await runLinkSteps(connector, { config: { page_id: '222' }, token: TOKEN, app: APP, baseUrl: 'http://127.0.0.1:9/v26.0' }, graph(pages));
    expect(chosen.kept).toEqual({ page_id: '222', page_name: 'South' });
    expect(chosen.token['access_token']).toBe('page-token-222');

    const several = runLinkSteps(connector, { config: {}, token: TOKEN, app: APP }, graph(pages));
    await expect(several).rejects.toMatchObject({ step: 'pages', refused: true, message: expect.stringContaining('the account manages 2 Pages: North (111), South (222). Set page_id') });
    await expect(runLinkSteps(connector, { config: { page_id: '333' }, token: TOKEN, app: APP }, graph(pages))).rejects.toThrow('did not grant the Page 333 (page_id)');
    await expect(runLinkSteps(connector, { config: {}, token: TOKEN, app: APP }, graph([page('111', 'North', ['ANALYZE'])]))).rejects.toThrow('cannot create content on the Page North (111)');
  });

  it("stop at a failed request with the connector's reading of the answer, never showing the app's secret or a token", async () => {
    const refused = json(400, { error: { message: 'Error validating client secret app-secret-123456 for short-lived-user-token', type: 'OAuthException', code: 100 } });
    const failure = await runLinkSteps(connector, { config: {}, token: TOKEN, app: APP }, graph([], { long_lived_token: refused })).catch((err: unknown) => err);
    expect(failure).toBeInstanceOf(LinkStepError);
    expect(failure).toMatchObject({ step: 'long_lived_token', refused: false });
    expect((failure as Error).message).toBe('Facebook refused the request as invalid: Error validating client secret [redacted] for [redacted].');
  });
});

describe('link steps in a manifest', () => {
  const manifests = tempManifests('link-steps');
  afterAll(() => manifests.remove());

  function problems(auth: string, steps: string, query = '{ secret: "{{ $app.client_secret }}" }'): string[] {
    const name = `steps-${Math.random().toString(36).slice(2, 8)}`;
    const result = manifests.load(
      name,
      `name: ${name}
version: 1.0.0
title: Steps
description: a connector for one test
auth: ${auth}
base_url: https://api.example.com
actions:
  post: { method: POST, path: /posts }
  token: { method: GET, path: /token, query: ${query}, body: null }
triggers:
  - { event: business.created, actions: [post] }
${steps}`,
    );
    return result.ok ? [] : result.problems.map((p) => `${p.path}: ${p.message}`);
  }

  const OAUTH = '{ type: oauth2, authorization_url: "https://example.com/a", token_url: "https://example.com/t" }';

  it('compile for an OAuth connector whose actions they name, and are refused otherwise', () => {
    expect(problems(OAUTH, 'link_steps: [{ action: token, credentials: "{\\"access_token\\": token}", keep: { tenant: tenant.id } }]')).toEqual([]);
    expect(problems('{ type: api_key, in: header, name: x-key }', 'link_steps: [{ action: token }]')).toEqual([expect.stringContaining('/link_steps: run after an OAuth code exchange, but auth is api_key')]);
    expect(problems(OAUTH, 'link_steps: [{ action: nope }]', '{ q: x }')).toEqual([expect.stringContaining('/link_steps/0/action: names action "nope"')]);
    expect(problems(OAUTH, 'link_steps: [{ action: token, keep: { id: x } }]')).toEqual([expect.stringContaining('/link_steps/0/keep/id: "id" is taken')]);
  });

  it('bind $app only in the actions a link step sends', () => {
    expect(problems(OAUTH, '', '{ secret: "{{ $app.client_secret }}" }')).toEqual([expect.stringContaining('$app')]);
  });
});
