import dns from 'node:dns';
import net from 'node:net';
import ipaddr from 'ipaddr.js';
import { HubError } from '../core/errors';

/** ::/96, the deprecated IPv4-compatible IPv6 addresses (RFC 4291 2.5.5.1), `::` and `::1` included. */
const IPV4_COMPATIBLE: [ipaddr.IPv6, number] = [ipaddr.IPv6.parse('::'), 96];

/**
 * True for any address a webhook must not reach from a multi-tenant hub:
 * loopback, private, link-local (cloud metadata), CGNAT, multicast, reserved,
 * unspecified, and IPv6 forms that embed an IPv4 address (mapped ::ffff:0:0/96
 * when that address is blocked; IPv4-compatible ::/96 always, as no public
 * host uses that deprecated form). Only global unicast passes.
 */
export function isBlockedAddress(address: string): boolean {
  const parsed = parseAddress(address);
  if (parsed === null) return true;
  if (parsed.kind() === 'ipv6') {
    const v6 = parsed as ipaddr.IPv6;
    if (v6.isIPv4MappedAddress()) return v6.toIPv4Address().range() !== 'unicast';
    if (v6.match(IPV4_COMPATIBLE)) return true;
  }
  return parsed.range() !== 'unicast';
}

/**
 * An IP address, or null. IPv6 goes through the WHATWG URL parser first: ipaddr.js reads a
 * dotted tail after zeros (`::127.0.0.1`, IPv4-compatible) as if it were `::ffff:127.0.0.1`,
 * while sockets and URLs (`[::7f00:1]`) read it as the ::/96 address it is.
 */
function parseAddress(address: string): ipaddr.IPv4 | ipaddr.IPv6 | null {
  if (!ipaddr.isValid(address)) return null;
  if (!address.includes(':')) return ipaddr.parse(address);
  try {
    return ipaddr.IPv6.parse(new URL(`http://[${address}]/`).hostname.slice(1, -1));
  } catch {
    // Zone ids (fe80::1%eth0) and other forms no URL may carry.
    return null;
  }
}

/** Said to the tenant whose URL it is (in dead letters and attempts too), who can change the URL but not the hub's settings. */
const USE_PUBLIC_ADDRESS = 'Use a URL on a public address, reachable from the internet.';

export class BlockedAddressError extends HubError {
  constructor(host: string, address: string) {
    super('endpoint_address_blocked', `${host} resolves to ${address}, a private or reserved address, which Hookhub does not deliver to. ${USE_PUBLIC_ADDRESS}`, { status: 400 });
    this.name = 'BlockedAddressError';
  }
}

export interface UrlRules {
  /** Production: https only. */
  requireHttps: boolean;
  /** The operator's HOOKHUB_ALLOW_PRIVATE_NETWORKS; otherwise the host must resolve to public addresses only. */
  allowPrivateNetworks: boolean;
  /** What to do instead of user:password@ in the URL, e.g. which setting holds credentials encrypted. */
  credentialsHint: string;
}

/**
 * What is wrong with a URL a tenant gives the hub to send to, worded for that
 * tenant, or null. The same rules the sender applies when it connects, checked
 * when the URL is registered so that a tenant hears at once instead of from a
 * dead letter. Credentials in the URL are refused: they would be stored and
 * shown in plain text.
 */
export async function urlProblem(raw: string, rules: UrlRules): Promise<string | null> {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return 'is not a valid URL';
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return 'must use http or https';
  if (rules.requireHttps && url.protocol !== 'https:') return 'must use https in production';
  if (url.username || url.password) return `must not carry credentials (user:password@ in the URL, which would be stored and shown in plain text); ${rules.credentialsHint}`;
  if (rules.allowPrivateNetworks) return null;
  const host = url.hostname.replace(/^\[|\]$/g, '');
  let addresses: string[];
  try {
    addresses = net.isIP(host) ? [host] : (await dns.promises.lookup(host, { all: true })).map((a) => a.address);
  } catch {
    return `host "${host}" does not resolve`;
  }
  const blocked = addresses.find(isBlockedAddress);
  return blocked ? `resolves to ${blocked}, a private or reserved address, which Hookhub does not deliver to. ${USE_PUBLIC_ADDRESS}` : null;
}

export class AddressNotAllowedError extends HubError {
  constructor(host: string, address: string) {
    super('endpoint_address_not_allowed', `${host} resolves to ${address}, which is outside the subscription's allowedIps; deliveries go only to addresses inside them.`, { status: 400 });
    this.name = 'AddressNotAllowedError';
  }
}

/** Parsed CIDR ranges of a subscription's allowedIps. */
export type AllowedRanges = ReadonlyArray<[ipaddr.IPv4 | ipaddr.IPv6, number]>;

export function parseAllowedIps(list: readonly string[]): AllowedRanges {
  return list.map((entry) => (entry.includes('/') ? ipaddr.parseCIDR(entry) : ([ipaddr.parse(entry), ipaddr.parse(entry).kind() === 'ipv4' ? 32 : 128] as [ipaddr.IPv4 | ipaddr.IPv6, number])));
}

export function isAllowedAddress(address: string, ranges: AllowedRanges): boolean {
  if (!ipaddr.isValid(address)) return false;
  let parsed = ipaddr.parse(address);
  if (parsed.kind() === 'ipv6' && (parsed as ipaddr.IPv6).isIPv4MappedAddress()) parsed = (parsed as ipaddr.IPv6).toIPv4Address();
  return ranges.some(([range, bits]) => range.kind() === parsed.kind() && parsed.match(range, bits));
}

/** Checks a URL's host when it is an IP literal (a DNS lookup is never made for those). */
export function checkLiteralHost(url: URL, guard = true, allowed: AllowedRanges | null = null): void {
  const host = url.hostname.replace(/^\[|\]$/g, '');
  if (!net.isIP(host)) return;
  if (guard && isBlockedAddress(host)) throw new BlockedAddressError(url.hostname, host);
  if (allowed && !isAllowedAddress(host, allowed)) throw new AddressNotAllowedError(url.hostname, host);
}

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string | dns.LookupAddress[], family?: number) => void;

/**
 * A `lookup` for net/tls connect that refuses blocked addresses. The check runs
 * on the very addresses the socket connects to, so a name that changes its
 * answer between registration and delivery (DNS rebinding) is still caught.
 */
export function guardedLookup(hostname: string, options: dns.LookupOptions, callback: LookupCallback): void {
  checkedLookup(true, null)(hostname, options, callback);
}

/** A lookup that applies the SSRF guard (when `guard`) and a subscription's allowedIps (when given). */
export function checkedLookup(guard: boolean, allowed: AllowedRanges | null): (hostname: string, options: dns.LookupOptions, callback: LookupCallback) => void {
  return (hostname, options, callback) => lookupChecked(hostname, options, callback, guard, allowed);
}

function lookupChecked(hostname: string, options: dns.LookupOptions, callback: LookupCallback, guard: boolean, allowed: AllowedRanges | null): void {
  dns.lookup(hostname, { ...options, all: true }, (err, addresses) => {
    if (err) return callback(err, []);
    const blocked = guard ? addresses.find((a) => isBlockedAddress(a.address)) : undefined;
    if (blocked) return callback(new BlockedAddressError(hostname, blocked.address), []);
    const outside = allowed ? addresses.find((a) => !isAllowedAddress(a.address, allowed)) : undefined;
    if (outside) return callback(new AddressNotAllowedError(hostname, outside.address), []);
    if (options.all) return callback(null, addresses);
    const first = addresses[0];
    if (!first) return callback(Object.assign(new Error(`no address for ${hostname}`), { code: 'ENOTFOUND' }), []);
    return callback(null, first.address, first.family);
  });
}
