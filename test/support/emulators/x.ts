import crypto from 'node:crypto';

import { parseTweet } from 'twitter-text';

import { OAuthApiEmulator, parseObject, type ApiRequest, type AuthFailure, type EmulatorOptions, type IntrospectionConfig, type Reply } from './oauth-api';

/**
 * X API v2 emulator: POST /2/tweets and GET /2/users/me on a local server, Bearer tokens checked against the
 * local OAuth server. docs/connectors/x-conformance.md lists each rule with its page.
 *
 * - Authentication (https://docs.x.com/fundamentals/authentication/oauth-2-0/user-access-token): a user's OAuth 2
 *   token as `Authorization: Bearer`; none, an expired or a revoked one is 401, as problem details
 *   {title: Unauthorized, type: about:blank, status: 401, detail: Unauthorized}.
 * - Scopes per endpoint (the OAuth2UserToken security of https://docs.x.com/x-api/posts/creation-of-a-post and
 *   https://docs.x.com/x-api/users/user-lookup-me): POST /2/tweets needs tweet.read, tweet.write and users.read;
 *   GET /2/users/me tweet.read and users.read. A token without one is 403 (valid authentication without
 *   permission: https://docs.x.com/x-api/fundamentals/response-codes-and-errors), before any rate limit counts.
 * - Create Post (https://docs.x.com/x-api/posts/creation-of-a-post): a JSON object of TweetCreateRequest's fields
 *   only, with `text` a string (or media); 201 {data: {id, text}}. A text over 280 weighted characters, as the
 *   twitter-text library counts it (https://docs.x.com/fundamentals/counting-characters), is 400 with
 *   errors[].message "Your Tweet text is too long. ..." and the invalid-request problem; a text the account already
 *   posted is 403 {detail: "You are not allowed to create a Tweet with duplicate content.", type: about:blank,
 *   title: Forbidden, status: 403}.
 * - Rate limits of POST /2/tweets (https://docs.x.com/x-api/fundamentals/rate-limits): 100 requests per user every
 *   15 minutes and 10,000 per app every 24 hours, in windows that start with their first request. Every answer
 *   carries x-rate-limit-limit, -remaining and -reset (Unix seconds) of the user's window and
 *   x-app-limit-24hour-limit, -remaining and -reset of the app's (with `userDailyLimit`, an access tier's
 *   x-user-limit-24hour-* too); a request past one is 429 {errors: [{code: 88, message: "Rate limit exceeded"}]},
 *   with no Retry-After.
 */
export interface XOptions extends EmulatorOptions {
  /** Requests per user in the user's window; default 100. */
  userLimit?: number;
  /** Length of the user's window, in seconds; default 900. */
  userWindowSeconds?: number;
  /** Requests per app (OAuth client) in 24 hours; default 10,000. */
  appLimit?: number;
  /** An access tier's posts per user in 24 hours (x-user-limit-24hour-*); default none. */
  userDailyLimit?: number;
}

export interface XPost {
  id: string;
  text: string;
  /** The account (the token's subject) that posted it. */
  authorId: string;
  clientId: string;
  at: number;
}

interface Window {
  start: number;
  used: number;
}

const DAY_S = 24 * 3600;
const CREATE_FIELDS = new Set(['card_uri', 'community_id', 'direct_message_deep_link', 'edit_options', 'for_super_followers_only', 'geo', 'media', 'nullcast', 'poll', 'quote_tweet_id', 'reply', 'reply_settings', 'share_with_followers', 'text']);
const SCOPES: Record<string, string[]> = {
  'POST /2/tweets': ['tweet.read', 'tweet.write', 'users.read'],
  'GET /2/users/me': ['tweet.read', 'users.read'],
};
const TOO_LONG = 'Your Tweet text is too long. For more information on how Twitter determines text length see https://github.com/twitter/twitter-text.';
const DUPLICATE = 'You are not allowed to create a Tweet with duplicate content.';

function problem(status: number, title: string, detail: string, type = 'about:blank'): Reply {
  return { status, body: { title, type, status, detail }, headers: { 'content-type': 'application/problem+json' } };
}

function invalidRequest(message: string, parameters: Record<string, string[]> = {}): Reply {
  return {
    status: 400,
    body: { errors: [{ parameters, message }], title: 'Invalid Request', detail: 'One or more parameters to your request was invalid.', type: 'https://api.twitter.com/2/problems/invalid-request' },
  };
}

export class XEmulator extends OAuthApiEmulator {
  readonly posts: XPost[] = [];
  /** Requests answered 429. */
  rateLimited = 0;
  private nextId = 1346889436626259968n;
  private readonly userWindows = new Map<string, Window>();
  private readonly userDays = new Map<string, Window>();
  private readonly appDays = new Map<string, Window>();

  private constructor(
    oauth: IntrospectionConfig,
    private readonly options: XOptions,
  ) {
    super(oauth, options);
  }

  static async start(oauth: IntrospectionConfig, options: XOptions = {}): Promise<XEmulator> {
    const emulator = new XEmulator(oauth, options);
    await emulator.listen();
    return emulator;
  }

  /** The account's posts, oldest first. */
  postsBy(authorId: string): XPost[] {
    return this.posts.filter((p) => p.authorId === authorId);
  }

  /** Counts `n` posts of the account made through other apps in its current window (X's user limits span every app). */
  spend(authorId: string, n: number): void {
    this.window(this.userWindows, authorId, this.userWindowSeconds).used += n;
  }

  /** The end of the account's current 15-minute window, in ms since the epoch. */
  userWindowReset(authorId: string): number {
    return this.window(this.userWindows, authorId, this.userWindowSeconds).start + this.userWindowSeconds * 1000;
  }

  private get userWindowSeconds(): number {
    return this.options.userWindowSeconds ?? 900;
  }

  protected unauthorized(_reason: AuthFailure): Reply {
    return problem(401, 'Unauthorized', 'Unauthorized');
  }

  protected failureBody(status: number): unknown {
    return { title: status >= 500 ? 'Service Unavailable' : 'Error', type: 'about:blank', status, detail: `Emulated failure ${status}` };
  }

  protected override admit(req: ApiRequest): Reply | undefined {
    const needed = SCOPES[`${req.method} ${req.path}`];
    if (!needed) return undefined;
    const granted = new Set(req.token.scope.split(' '));
    if (needed.some((s) => !granted.has(s))) return problem(403, 'Forbidden', 'You are not permitted to perform this action.');
    if (req.path !== '/2/tweets') return undefined;
    const windows = this.postWindows(req);
    if (windows.some(([w, limit]) => w.used >= limit)) {
      this.rateLimited++;
      return { status: 429, body: { errors: [{ code: 88, message: 'Rate limit exceeded' }] } };
    }
    for (const [w] of windows) w.used++;
    return undefined;
  }

  protected override responseHeaders(req: ApiRequest): Record<string, string> {
    if (req.method !== 'POST' || req.path !== '/2/tweets') return {};
    const [user, app, day] = this.postWindows(req);
    const headers: Record<string, string> = {};
    const describe = (prefix: string, [w, limit, seconds]: [Window, number, number]): void => {
      headers[`${prefix}-limit`] = String(limit);
      headers[`${prefix}-remaining`] = String(Math.max(0, limit - w.used));
      headers[`${prefix}-reset`] = String(Math.ceil((w.start + seconds * 1000) / 1000));
    };
    if (user) describe('x-rate-limit', user);
    if (app) describe('x-app-limit-24hour', app);
    if (day) describe('x-user-limit-24hour', day);
    return headers;
  }

  protected route(req: ApiRequest): Reply {
    if (req.method === 'GET' && req.path === '/2/users/me') {
      const sub = req.token.sub;
      return { status: 200, body: { data: { id: userId(sub), name: `User ${sub}`, username: sub.replace(/[^A-Za-z0-9_]/g, '_').slice(0, 15) } } };
    }
    if (req.method === 'POST' && req.path === '/2/tweets') return this.create(req);
    return problem(404, 'Not Found Error', `Could not find the resource ${req.method} ${req.path}.`, 'https://api.twitter.com/2/problems/resource-not-found');
  }

  private create(req: ApiRequest): Reply {
    const body = parseObject(req.rawBody);
    if (!body) return invalidRequest('The request body is not a JSON object.');
    const unknown = Object.keys(body).filter((k) => !CREATE_FIELDS.has(k));
    if (unknown.length > 0) return invalidRequest(`The body has fields a post does not take: ${unknown.join(', ')}.`);
    const text = body['text'];
    if (text !== undefined && typeof text !== 'string') return invalidRequest('text must be a string.', { text: [JSON.stringify(text)] });
    if (text === undefined && body['media'] === undefined) return invalidRequest('A post needs text or media.');
    const content = text ?? '';
    if (parseTweet(content).weightedLength > 280) return invalidRequest(TOO_LONG, { text: [content] });
    const authorId = req.token.sub;
    if (this.posts.some((p) => p.authorId === authorId && p.text === content)) return problem(403, 'Forbidden', DUPLICATE);
    const post: XPost = { id: String(this.nextId++), text: content, authorId, clientId: req.token.client_id, at: Date.now() };
    this.posts.push(post);
    return { status: 201, body: { data: { id: post.id, text: post.text } } };
  }

  /** The windows a post counts in: [window, limit, length in seconds] for the user's, the app's day and (with a tier's limit) the user's day. */
  private postWindows(req: ApiRequest): Array<[Window, number, number]> {
    const out: Array<[Window, number, number]> = [
      [this.window(this.userWindows, req.token.sub, this.userWindowSeconds), this.options.userLimit ?? 100, this.userWindowSeconds],
      [this.window(this.appDays, req.token.client_id, DAY_S), this.options.appLimit ?? 10_000, DAY_S],
    ];
    const daily = this.options.userDailyLimit;
    if (daily !== undefined) out.push([this.window(this.userDays, req.token.sub, DAY_S), daily, DAY_S]);
    return out;
  }

  /** The current window of `key`; a new one when the last has ended. */
  private window(windows: Map<string, Window>, key: string, seconds: number): Window {
    const now = Date.now();
    let w = windows.get(key);
    if (!w || now >= w.start + seconds * 1000) {
      w = { start: now, used: 0 };
      windows.set(key, w);
    }
    return w;
  }
}

/** A stable numeric user id for an account name, as X's ids are digits. */
export function userId(sub: string): string {
  return BigInt(`0x${crypto.createHash('sha256').update(sub).digest('hex').slice(0, 15)}`).toString();
}
