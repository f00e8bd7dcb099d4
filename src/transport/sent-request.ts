/** A request as it went out, for the delivery log: what a receiver got, with secret header values masked. */
export interface SentRequest {
  method: string;
  url: string;
  headers: Record<string, string>;
  /** The body, cut to the configured size (whole UTF-8 characters); null when bodies are not kept. */
  body: string | null;
  /** The body was longer than what is kept. */
  bodyTruncated: boolean;
}

/**
 * The record of a request: the headers object is kept as given (not copied; mask secrets
 * before), and the body is kept up to `maxBodyBytes` UTF-8 bytes (0: not at all).
 */
export function sentRequest(method: string, url: string, headers: Record<string, string>, body: string | null, maxBodyBytes: number): SentRequest {
  if (body === null || maxBodyBytes <= 0) return { method, url, headers, body: null, bodyTruncated: body !== null && body.length > 0 };
  // A string of n UTF-16 units is at most 3n UTF-8 bytes: most bodies need no counting at all.
  if (body.length * 3 <= maxBodyBytes || Buffer.byteLength(body) <= maxBodyBytes) return { method, url, headers, body, bodyTruncated: false };
  const cut = Buffer.from(body).subarray(0, maxBodyBytes).toString('utf8');
  // A character split by the cut decodes as U+FFFD: drop it.
  return { method, url, headers, body: cut.endsWith('\uFFFD') ? cut.slice(0, -1) : cut, bodyTruncated: true };
}
