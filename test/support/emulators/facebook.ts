import crypto from 'node:crypto';

import { OAuthApiEmulator, parseObject, type AuthFailure, type EmulatorOptions, type IntrospectionConfig, type RecordedRequest, type Reply } from './oauth-api';

/**
 * Facebook Graph API emulator: the parts of graph.facebook.com the Facebook Pages connector uses, after
 * the code exchange (which the local OAuth server plays: its tokens are the short-lived User tokens,
 * checked by introspection). docs/connectors/facebook-pages-conformance.md lists each rule with its page.
 *
 * - Versions (https://developers.facebook.com/docs/graph-api/guides/versioning and
 *   https://developers.facebook.com/docs/graph-api/changelog/versions/): every path starts with an
 *   available version (v21.0 to v26.0 here); another is 400 code 2500 "Unknown path components".
 * - Tokens (https://developers.facebook.com/docs/facebook-login/guides/access-tokens): in the access_token
 *   parameter (query or body) or the Authorization header; none is 400 code 104. Errors
 *   (https://developers.facebook.com/docs/graph-api/guides/error-handling) are
 *   {"error": {message, type, code, error_subcode?, fbtrace_id}}; a token that is not valid is 400
 *   OAuthException 190, with subcode 460 once the person changed their password (every token of theirs).
 * - Long-lived User tokens (https://developers.facebook.com/docs/facebook-login/guides/access-tokens/get-long-lived):
 *   GET /oauth/access_token?grant_type=fb_exchange_token&client_id&client_secret&fb_exchange_token answers
 *   {access_token, token_type: bearer, expires_in ≈ 60 days}; a wrong secret is 400 code 1 "Error validating
 *   client secret.", a token that is not a valid User token 190.
 * - Pages (https://developers.facebook.com/docs/graph-api/reference/user/accounts/ and
 *   https://developers.facebook.com/docs/pages-api/overview): GET /me/accounts with a User token lists the
 *   Pages the person has tasks on, each with a Page token (no expiry when the User token is long-lived), and
 *   needs pages_show_list; with a Page token it is 400 code 100 (no field accounts on a Page). GET /me is
 *   the person, or with a Page token the Page.
 * - Posts (https://developers.facebook.com/docs/pages-api/posts): POST /{page-id}/feed with message and/or
 *   link (form, JSON or query) answers {id: "<page>_<post>"}; it takes a Page token of that Page whose person
 *   has the CREATE_CONTENT task and granted pages_manage_posts and pages_read_engagement, and refuses
 *   anything else (a User token included) with 403 code 200.
 * - Rate limits (https://developers.facebook.com/docs/graph-api/overview/rate-limiting): a Page token's calls
 *   count against the Page's Business Use Case budget, shown on each answer in X-Business-Use-Case-Usage
 *   ({"<page>": [{type: pages, call_count, total_cputime, total_time, estimated_time_to_regain_access}]},
 *   percentages and minutes); a User token's against the app's, in X-App-Usage ({call_count, total_cputime,
 *   total_time}). Past the budget a Page is refused with code 80001, the app with code 4.
 */
export interface FacebookOptions extends EmulatorOptions {
  appId: string;
  appSecret: string;
}

export interface FacebookPage {
  id: string;
  name: string;
  /** The people with tasks on the Page (OAuth subjects), and their tasks. */
  tasks: Map<string, string[]>;
  posts: Array<{ id: string; message: string | null; link: string | null; via: string }>;
  /** Calls made with its Page tokens in the current window, and how many the budget allows. */
  calls: number;
  budget: number;
  regainMinutes: number;
}

type Token = { kind: 'user'; sub: string; scopes: Set<string>; longLived: boolean } | { kind: 'page'; sub: string; scopes: Set<string>; pageId: string };

const VERSIONS = new Set(['v21.0', 'v22.0', 'v23.0', 'v24.0', 'v25.0', 'v26.0']);
export const FULL_TASKS = ['ANALYZE', 'ADVERTISE', 'MODERATE', 'CREATE_CONTENT', 'MANAGE'];
const POST_PERMISSION =
  '(#200) If posting to a group, requires app being installed in the group, and either publish_to_groups permission with user token, or both pages_read_engagement and pages_manage_posts permission with page token; If posting to a page, requires both pages_read_engagement and pages_manage_posts as an admin with sufficient administrative permission';

export class FacebookEmulator extends OAuthApiEmulator {
  readonly pages = new Map<string, FacebookPage>();
  /** The app's calls with User tokens in the current window, and its budget. */
  appCalls = 0;
  appBudget = 10_000;
  private readonly issued = new Map<string, Token>();
  private readonly passwordChanged = new Set<string>();
  private readonly userIds = new Map<string, string>();

  private constructor(
    oauth: IntrospectionConfig,
    private readonly options: FacebookOptions,
  ) {
    super(oauth, { ...options, acceptClientIds: [options.appId] });
  }

  static async start(oauth: IntrospectionConfig, options: FacebookOptions): Promise<FacebookEmulator> {
    const emulator = new FacebookEmulator(oauth, options);
    await emulator.listen();
    return emulator;
  }

  /** A Page on which the person `sub` has `tasks`. */
  addPage(id: string, name: string, sub: string, tasks: string[] = FULL_TASKS): FacebookPage {
    const page = this.pages.get(id) ?? { id, name, tasks: new Map<string, string[]>(), posts: [], calls: 0, budget: 4800, regainMinutes: 0 };
    page.tasks.set(sub, tasks);
    this.pages.set(id, page);
    return page;
  }

  /** The Page's budget is spent for `minutes`: its calls are refused with 80001 until resetUsage. */
  throttlePage(id: string, minutes: number): void {
    const page = this.pages.get(id);
    if (!page) throw new Error(`no page ${id}`);
    page.calls = page.budget;
    page.regainMinutes = minutes;
  }

  resetUsage(id: string): void {
    const page = this.pages.get(id);
    if (page) Object.assign(page, { calls: 0, regainMinutes: 0 });
  }

  /** The person changed their password: every token of theirs is refused with 190, subcode 460. */
  changePassword(sub: string): void {
    this.passwordChanged.add(sub);
  }

  /** What a token the emulator issued is: a long-lived User token or a Page token. */
  tokenKind(token: string): Token['kind'] | 'short-lived' | null {
    return this.issued.get(token)?.kind ?? (token ? 'short-lived' : null);
  }

  protected unauthorized(reason: AuthFailure): Reply {
    return reason === 'missing' ? graphError(400, 'An access token is required to request this resource.', 104) : graphError(400, 'Invalid OAuth access token - Cannot parse access token', 190);
  }

  protected failureBody(status: number): unknown {
    return graphError(status, status >= 500 ? 'An unknown error has occurred.' : 'An unexpected error has occurred. Please retry your request later.', status >= 500 ? 1 : 2).body;
  }

  protected route(): Reply {
    return graphError(400, 'Unknown path components', 2500);
  }

  /** Every request is handled here: Graph reads its token from a parameter or the header, and has tokens of its own. */
  protected override async unauthenticated(method: string, path: string, record?: RecordedRequest): Promise<Reply | undefined> {
    const match = /^\/(v\d+\.\d+)(\/.*)$/.exec(path);
    if (!match || !VERSIONS.has(match[1] ?? '')) return graphError(400, `Unknown path components: ${path}`, 2500);
    const route = match[2] ?? '/';
    const params = paramsOf(record);
    if (method === 'GET' && route === '/oauth/access_token') return this.exchange(params);
    const raw = params.get('access_token') ?? /^(?:Bearer|OAuth)\s+(\S+)\s*$/i.exec(String(record?.headers.authorization ?? ''))?.[1];
    if (!raw) return this.unauthorized('missing');
    const token = await this.resolve(raw);
    if ('reply' in token) return token.reply;
    if (record) record.sub = token.sub;
    const throttled = this.spend(token);
    if (throttled) return throttled;
    const reply = this.answer(method, route, params, token);
    return { ...reply, headers: { ...this.usageHeaders(token), ...reply.headers } };
  }

  private answer(method: string, route: string, params: URLSearchParams, token: Token): Reply {
    if (method === 'GET' && route === '/me/accounts') return this.accounts(params, token);
    if (method === 'GET' && route === '/me') return this.me(params, token);
    const feed = /^\/(\d+)\/feed$/.exec(route);
    if (method === 'POST' && feed?.[1]) return this.publish(feed[1], params, token);
    return graphError(400, `Unsupported ${method.toLowerCase()} request.`, 100);
  }

  private async exchange(params: URLSearchParams): Promise<Reply> {
    if (params.get('grant_type') !== 'fb_exchange_token') return graphError(400, 'Missing or unsupported grant_type', 100);
    if (params.get('client_id') !== this.options.appId) return graphError(400, 'Error validating application. Invalid application ID.', 101);
    if (params.get('client_secret') !== this.options.appSecret) return graphError(400, 'Error validating client secret.', 1);
    const user = await this.resolve(params.get('fb_exchange_token') ?? '');
    if ('reply' in user) return user.reply;
    if (user.kind !== 'user') return graphError(400, 'Invalid OAuth access token - a User access token is required', 190);
    const token = `EAAL${crypto.randomBytes(24).toString('hex')}`;
    this.issued.set(token, { kind: 'user', sub: user.sub, scopes: user.scopes, longLived: true });
    return { status: 200, body: { access_token: token, token_type: 'bearer', expires_in: 5183944 } };
  }

  private accounts(params: URLSearchParams, token: Token): Reply {
    if (token.kind === 'page') return graphError(400, '(#100) Tried accessing nonexisting field (accounts) on node type (Page)', 100);
    if (!token.scopes.has('pages_show_list')) return graphError(403, '(#200) Requires pages_show_list permission to manage the object', 200);
    const fields = (params.get('fields') ?? 'id,name,access_token,category,tasks').split(',');
    const data = [...this.pages.values()]
      .filter((page) => page.tasks.has(token.sub))
      .map((page) => {
        const accessToken = `EAAP${crypto.randomBytes(24).toString('hex')}`;
        // A Page token from a short-lived User token is short-lived too; the emulator only tells them apart by origin.
        this.issued.set(accessToken, { kind: 'page', sub: token.sub, scopes: token.scopes, pageId: page.id });
        const entry: Record<string, unknown> = { id: page.id, name: page.name, access_token: accessToken, category: 'Local business', tasks: page.tasks.get(token.sub) };
        return Object.fromEntries(fields.filter((f) => f in entry).map((f) => [f, entry[f]]));
      });
    return { status: 200, body: { data, paging: { cursors: { before: 'QVFIUb', after: 'QVFIUa' } } } };
  }

  private me(params: URLSearchParams, token: Token): Reply {
    const node = token.kind === 'page' ? { id: token.pageId, name: this.pages.get(token.pageId)?.name ?? '' } : { id: this.userId(token.sub), name: `Person ${token.sub}` };
    const fields = (params.get('fields') ?? 'id,name').split(',');
    return { status: 200, body: Object.fromEntries(fields.filter((f) => f in node).map((f) => [f, node[f as keyof typeof node]])) };
  }

  private publish(pageId: string, params: URLSearchParams, token: Token): Reply {
    const page = this.pages.get(pageId);
    if (!page) return graphError(400, `(#100) Object with ID '${pageId}' does not exist, cannot be loaded due to missing permissions, or does not support this operation`, 100, 33);
    const tasks = page.tasks.get(token.sub) ?? [];
    const granted = token.scopes.has('pages_manage_posts') && token.scopes.has('pages_read_engagement');
    if (token.kind !== 'page' || token.pageId !== pageId || !granted || !tasks.includes('CREATE_CONTENT')) return graphError(403, POST_PERMISSION, 200);
    const message = params.get('message');
    const link = params.get('link');
    if (!message && !link) return graphError(400, '(#100) Must specify a message or a link', 100);
    if (link && !/^https?:\/\/\S+$/.test(link)) return graphError(400, '(#100) The link could not be resolved', 100);
    const id = `${pageId}_${1000 + page.posts.length}`;
    page.posts.push({ id, message, link, via: token.kind });
    return { status: 200, body: { id } };
  }

  /** The token's person, whatever issued it; a reply when it is not valid. */
  private async resolve(raw: string): Promise<Token | { reply: Reply }> {
    const issued = this.issued.get(raw);
    const info = issued ? null : await this.introspect(raw);
    const token: Token | null = issued ?? (info ? { kind: 'user', sub: info.sub, scopes: new Set(info.scope.split(' ')), longLived: false } : null);
    if (!token) return { reply: this.unauthorized('invalid') };
    if (this.passwordChanged.has(token.sub)) {
      return { reply: graphError(400, 'Error validating access token: The session has been invalidated because the user changed their password or Facebook has changed the session for security reasons.', 190, 460) };
    }
    return token;
  }

  /** One more call against the token's budget; the refusal when it is spent. */
  private spend(token: Token): Reply | null {
    if (token.kind === 'page') {
      const page = this.pages.get(token.pageId);
      if (!page) return null;
      if (page.calls >= page.budget) return { ...graphError(400, '(#80001) There have been too many calls to this Page account. Wait a bit and try again.', 80001), headers: this.usageHeaders(token) };
      page.calls++;
      return null;
    }
    if (this.appCalls >= this.appBudget) return { ...graphError(403, '(#4) Application request limit reached', 4), headers: this.usageHeaders(token) };
    this.appCalls++;
    return null;
  }

  private usageHeaders(token: Token): Record<string, string> {
    if (token.kind === 'user') {
      const pct = Math.min(100, Math.round((100 * this.appCalls) / this.appBudget));
      return { 'x-app-usage': JSON.stringify({ call_count: pct, total_cputime: Math.round(pct / 4), total_time: Math.round(pct / 3) }) };
    }
    const page = this.pages.get(token.pageId);
    if (!page) return {};
    const pct = Math.min(100, Math.round((100 * page.calls) / page.budget));
    const usage = { type: 'pages', call_count: pct, total_cputime: Math.round(pct / 4), total_time: Math.round(pct / 3), estimated_time_to_regain_access: pct >= 100 ? page.regainMinutes : 0 };
    return { 'x-business-use-case-usage': JSON.stringify({ [page.id]: [usage] }) };
  }

  private userId(sub: string): string {
    let id = this.userIds.get(sub);
    if (!id) this.userIds.set(sub, (id = String(10_000_000_000 + this.userIds.size)));
    return id;
  }
}

/** The parameters of a Graph request: its query, then a form or JSON body. */
function paramsOf(record: RecordedRequest | undefined): URLSearchParams {
  const params = new URLSearchParams(record?.query);
  const body = record?.body ?? '';
  const json = parseObject(body);
  const fields = json ? Object.entries(json).map(([k, v]) => [k, typeof v === 'string' ? v : JSON.stringify(v)] as [string, string]) : body ? [...new URLSearchParams(body)] : [];
  for (const [k, v] of fields) params.set(k, v);
  return params;
}

function graphError(status: number, message: string, code: number, subcode?: number): Reply {
  const error: Record<string, unknown> = { message, type: 'OAuthException', code };
  if (subcode !== undefined) error['error_subcode'] = subcode;
  error['fbtrace_id'] = crypto.randomBytes(8).toString('base64url');
  return { status, body: { error } };
}
