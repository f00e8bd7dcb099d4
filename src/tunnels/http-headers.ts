/** Headers as sent on the wire: name and value pairs, in order, repeated names kept (Set-Cookie). */
export type HeaderPairs = Array<[string, string]>;

/** Hop-by-hop headers (RFC 9110 section 7.6.1): they describe one connection and are never forwarded. */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-authenticate', 'proxy-authorization', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade']);
/** Set again by whoever sends the message on: the length of the body it sends, the host it sends to. */
const RECOMPUTED = new Set(['content-length', 'host']);
const MAX_HEADERS = 200;
const MAX_VALUE = 16 * 1024;

/** Node's `rawHeaders` (name, value, name, value, ...) as pairs. */
export function pairsOf(raw: readonly string[]): HeaderPairs {
  const pairs: HeaderPairs = [];
  for (let i = 0; i + 1 < raw.length; i += 2) pairs.push([raw[i] as string, raw[i + 1] as string]);
  return pairs;
}

/**
 * The end-to-end headers of a message to pass on: without the hop-by-hop ones (also those the Connection header
 * names), Content-Length and Host; at most 200, of well-formed names. Applied in both directions, on both ends.
 */
export function endToEnd(given: unknown): HeaderPairs {
  if (!Array.isArray(given)) return [];
  const pairs = given.filter((p): p is [string, string] => Array.isArray(p) && p.length === 2 && typeof p[0] === 'string' && typeof p[1] === 'string' && /^[!#$%&'*+.^`|~\w-]+$/.test(p[0]));
  const named = new Set(pairs.filter(([n]) => n.toLowerCase() === 'connection').flatMap(([, v]) => v.split(',').map((t) => t.trim().toLowerCase())));
  return pairs
    .filter(([n]) => {
      const name = n.toLowerCase();
      return !HOP_BY_HOP.has(name) && !RECOMPUTED.has(name) && !named.has(name);
    })
    .slice(0, MAX_HEADERS)
    .map(([n, v]) => [n, v.slice(0, MAX_VALUE)]);
}

/** The pairs as Node's outgoing headers: repeated names as lists. */
export function headerObject(pairs: HeaderPairs): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [name, value] of pairs) {
    const key = name.toLowerCase();
    const seen = out[key];
    out[key] = seen === undefined ? value : Array.isArray(seen) ? [...seen, value] : [seen, value];
  }
  return out;
}
