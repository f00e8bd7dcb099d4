import { readStoredLogin } from './login-store';
import type { StoredLogin } from './login-store';

/**
 * The CLI's client of a running hub: where it is and which key to use (flags, then HOOKHUB_URL /
 * HOOKHUB_API_KEY, then what `hookhub login` stored), and JSON requests whose failures become
 * CliErrors carrying the exit code and what to do.
 */

/** Where `hookhub start` listens by default (PORT 3000), seen from the same machine. */
export const DEFAULT_HUB_URL = 'http://127.0.0.1:3000';
const DEFAULT_TIMEOUT_MS = 30_000;

/** Exit codes of every command that talks to a hub (README, "Developer tools"). */
export const EXIT = {
  /** Done, and what was asked about is fine. */
  ok: 0,
  /** What was asked about failed or does not exist (a failed delivery, an unknown id, an invalid event). */
  failed: 1,
  /** Usage, configuration, connection or HTTP errors: the question could not be answered. */
  usage: 2,
} as const;
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** A failure to report in one message, with what to do, and the exit code. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: ExitCode = EXIT.usage,
    readonly hint?: string,
  ) {
    super(message);
  }
}

/** The hub answered with an error: `{"error": {"code", "message", "details"?}}`. */
export class ApiError extends CliError {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: unknown,
    hint?: string,
  ) {
    // A 404 is an answer about the thing asked for (it is not there); other errors mean no answer.
    super(message, status === 404 ? EXIT.failed : EXIT.usage, hint);
  }
}

/** The flags every hub command takes (the same names as the environment variables they override). */
export interface HubFlags {
  url?: string | undefined;
  apiKey?: string | undefined;
}

/** Where a setting came from, to say so when it is wrong. */
export type SettingSource = 'flag' | 'environment' | 'login' | 'default';

export interface HubTarget {
  url: URL;
  urlFrom: SettingSource;
  apiKey: string | null;
  apiKeyFrom: SettingSource | null;
}

/**
 * Flags over the environment over the stored login. The stored key is used only for the hub it was
 * stored for, so pointing --url or HOOKHUB_URL elsewhere never sends it to another host.
 */
export function resolveTarget(flags: HubFlags, env: NodeJS.ProcessEnv = process.env, stored: StoredLogin | null = readStoredLogin(env)): HubTarget {
  const [rawUrl, urlFrom] = pick<string>([
    [flags.url, 'flag'],
    [env['HOOKHUB_URL'], 'environment'],
    [stored?.url, 'login'],
    [DEFAULT_HUB_URL, 'default'],
  ]) ?? [DEFAULT_HUB_URL, 'default'];
  const url = hubUrl(rawUrl, urlFrom);
  const sameHub = stored !== null && hubUrl(stored.url, 'login').href === url.href;
  const key = pick<string>([
    [flags.apiKey, 'flag'],
    [env['HOOKHUB_API_KEY'], 'environment'],
    [sameHub ? stored.apiKey : undefined, 'login'],
  ]);
  return { url, urlFrom, apiKey: key?.[0] ?? null, apiKeyFrom: key?.[1] ?? null };
}

function pick<T>(candidates: Array<[T | undefined, SettingSource]>): [T, SettingSource] | undefined {
  const found = candidates.find(([value]) => value !== undefined && value !== '');
  return found as [T, SettingSource] | undefined;
}

const URL_SOURCE: Record<SettingSource, string> = { flag: '--url', environment: 'HOOKHUB_URL', login: 'the stored login (hookhub login)', default: 'the default' };

/** An http(s) URL, kept with its path so a hub behind a prefix works, and ending in "/". */
export function hubUrl(raw: string, from: SettingSource = 'flag'): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    url = new URL('invalid:');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new CliError(`${URL_SOURCE[from]} "${raw}" is not an http(s) URL.`, EXIT.usage, `Give the hub's address, e.g. ${DEFAULT_HUB_URL}.`);
  }
  if (!url.pathname.endsWith('/')) url.pathname += '/';
  url.search = '';
  url.hash = '';
  return url;
}

export interface RequestOptions {
  query?: Record<string, string | number | undefined>;
  body?: unknown;
  timeoutMs?: number;
  /** Send no API key (public routes such as /v1/event-types). */
  anonymous?: boolean;
}

/** JSON over HTTP to one hub. */
export class HubClient {
  constructor(readonly target: HubTarget) {}

  get<T>(path: string, options: RequestOptions = {}): Promise<T> {
    return this.request<T>('GET', path, options);
  }

  post<T>(path: string, body: unknown = {}, options: RequestOptions = {}): Promise<T> {
    return this.request<T>('POST', path, { ...options, body });
  }

  delete(path: string, options: RequestOptions = {}): Promise<unknown> {
    return this.request('DELETE', path, options);
  }

  /** Sends a request; the parsed JSON answer (null for 204), or a CliError/ApiError. */
  async request<T>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
    const { url, apiKey } = this.target;
    if (!options.anonymous && apiKey === null) {
      throw new CliError('no API key.', EXIT.usage, 'Run `hookhub login`, set HOOKHUB_API_KEY or pass --api-key <key> (a key of your tenant, made with `hookhub keys create`).');
    }
    const target = new URL(path.replace(/^\//, ''), url);
    for (const [name, value] of Object.entries(options.query ?? {})) if (value !== undefined && value !== '') target.searchParams.set(name, String(value));
    const headers: Record<string, string> = { accept: 'application/json' };
    if (!options.anonymous && apiKey !== null) headers['authorization'] = `Bearer ${apiKey}`;
    if (options.body !== undefined) headers['content-type'] = 'application/json';
    let response: Response;
    try {
      response = await fetch(target, {
        method,
        headers,
        ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
        signal: AbortSignal.timeout(options.timeoutMs ?? DEFAULT_TIMEOUT_MS),
      });
    } catch (err) {
      const cause = (err as { cause?: { code?: string; message?: string } }).cause;
      const why = (err as Error).name === 'TimeoutError' ? 'no answer in time' : (cause?.code ?? cause?.message ?? (err as Error).message);
      throw new CliError(`could not reach the hub at ${url.origin} (${why}).`, EXIT.usage, `Is it running? Give its address with --url, HOOKHUB_URL or \`hookhub login\` (${URL_SOURCE[this.target.urlFrom]} said ${url.href}).`);
    }
    const text = await response.text();
    if (response.status === 204 || (response.ok && text === '')) return null as T;
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      throw new CliError(`the hub at ${url.origin} answered HTTP ${response.status} without JSON.`, EXIT.usage, "Is the URL the hub's address?");
    }
    if (!response.ok) throw apiError(response.status, body);
    return body as T;
  }
}

/** The hub's error body as an ApiError, with what to do for the usual statuses. */
function apiError(status: number, body: unknown): ApiError {
  const error = (body as { error?: { code?: unknown; message?: unknown; details?: unknown } } | null)?.error;
  const code = typeof error?.code === 'string' ? error.code : `http_${status}`;
  const message = typeof error?.message === 'string' ? error.message : `the hub answered HTTP ${status}.`;
  return new ApiError(status, code, message, error?.details, HINTS[status]);
}

const HINTS: Record<number, string> = {
  401: 'Check the API key: run `hookhub login` again, or pass --api-key / set HOOKHUB_API_KEY.',
  403: 'The API key lacks the scope this needs: use a key made with it (`hookhub keys create --scopes ...`).',
  429: 'The hub is rate limiting this key: wait a moment and try again.',
};

/** The client for a command's flags (the environment and the stored login filling in). */
export function clientFor(flags: HubFlags): HubClient {
  return new HubClient(resolveTarget(flags));
}
