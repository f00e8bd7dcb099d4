/**
 * The browser side of an authorization code flow, with plain HTTP: a cookie jar
 * and redirects followed by hand (fetch with redirect: 'manual'). Used by
 * OAuthServer.authorize(); works against the login and consent pages of
 * server.mjs (`/interaction/:uid`, `.../login`, `.../confirm`, `.../abort`).
 */

interface StoredCookie {
  value: string;
  path: string;
}

/** Host-only cookie jar for one origin: enough for the authorization server's cookies. */
export class CookieJar {
  private readonly cookies = new Map<string, StoredCookie>();

  store(response: Response, requestUrl: URL): void {
    for (const line of response.headers.getSetCookie()) {
      const [pair = '', ...attributes] = line.split(';').map((part) => part.trim());
      const eq = pair.indexOf('=');
      if (eq <= 0) continue;
      const name = pair.slice(0, eq);
      const value = pair.slice(eq + 1);
      let path = requestUrl.pathname.replace(/\/[^/]*$/, '') || '/';
      let expired = false;
      for (const attribute of attributes) {
        const [key = '', val = ''] = attribute.split('=');
        const lower = key.toLowerCase();
        if (lower === 'path') path = val || '/';
        if (lower === 'max-age' && Number(val) <= 0) expired = true;
        if (lower === 'expires' && Date.parse(val) <= Date.now()) expired = true;
      }
      const key = `${name}\u0000${path}`;
      if (expired) this.cookies.delete(key);
      else this.cookies.set(key, { value, path });
    }
  }

  header(url: URL): string {
    const out: string[] = [];
    for (const [key, cookie] of this.cookies) {
      const matches = url.pathname === cookie.path || url.pathname.startsWith(cookie.path.endsWith('/') ? cookie.path : `${cookie.path}/`);
      if (matches) out.push(`${key.split('\u0000')[0] ?? ''}=${cookie.value}`);
    }
    return out.join('; ');
  }
}

export interface AuthorizeOptions {
  /** Account to sign in as; default 'alice'. */
  user?: string;
  /** Press "Cancel" on the first page instead: the flow ends in error=access_denied. */
  deny?: boolean;
}

/**
 * Loads `authorizationUrl`, signs in, consents (or cancels) and returns the URL the
 * authorization server finally redirects to, outside its own origin (the client's
 * redirect_uri with `code` or `error`), without fetching it.
 */
export async function driveAuthorization(
  issuer: string,
  authorizationUrl: string,
  options: AuthorizeOptions = {},
): Promise<{ redirectedTo: string }> {
  const origin = new URL(issuer).origin;
  const jar = new CookieJar();
  let url = new URL(authorizationUrl);
  let method: 'GET' | 'POST' = 'GET';
  let form: URLSearchParams | undefined;

  for (let step = 0; step < 20; step++) {
    if (url.origin !== origin) return { redirectedTo: url.href };
    const headers: Record<string, string> = { accept: 'text/html,application/json' };
    const cookie = jar.header(url);
    if (cookie) headers['cookie'] = cookie;
    const init: RequestInit = { method, headers, redirect: 'manual' };
    if (form) {
      headers['content-type'] = 'application/x-www-form-urlencoded';
      init.body = form.toString();
    }
    const response = await fetch(url, init);
    jar.store(response, url);
    method = 'GET';
    form = undefined;

    const location = response.headers.get('location');
    if (response.status >= 300 && response.status < 400 && location) {
      await response.body?.cancel();
      url = new URL(location, url);
      continue;
    }
    const text = await response.text();
    if (response.status !== 200) {
      throw new Error(`authorization flow stopped at ${url.pathname} with HTTP ${response.status}: ${text.slice(0, 500)}`);
    }
    const prompt = /data-prompt="(login|consent)"/.exec(text)?.[1];
    const uid = /^\/interaction\/([^/]+)$/.exec(url.pathname)?.[1];
    if (!prompt || !uid) throw new Error(`unexpected page at ${url.pathname}: ${text.slice(0, 500)}`);
    if (options.deny) {
      url = new URL(`/interaction/${uid}/abort`, url);
    } else if (prompt === 'login') {
      method = 'POST';
      form = new URLSearchParams({ prompt: 'login', login: options.user ?? 'alice', password: 'secret' });
      url = new URL(`/interaction/${uid}/login`, url);
    } else {
      method = 'POST';
      form = new URLSearchParams({ prompt: 'consent' });
      url = new URL(`/interaction/${uid}/confirm`, url);
    }
  }
  throw new Error('authorization flow did not reach the redirect_uri in 20 steps');
}
