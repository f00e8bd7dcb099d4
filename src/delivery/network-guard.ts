import dns from 'node:dns';
import net from 'node:net';
import ipaddr from 'ipaddr.js';
import { HubError } from '../core/errors';

/**
 * True for any address a webhook must not reach from a multi-tenant hub:
 * loopback, private, link-local (cloud metadata), CGNAT, multicast, reserved,
 * unspecified, and IPv6 forms that embed such an IPv4 address. Only global
 * unicast passes.
 */
export function isBlockedAddress(address: string): boolean {
  if (!ipaddr.isValid(address)) return true;
  let parsed = ipaddr.parse(address);
  if (parsed.kind() === 'ipv6' && (parsed as ipaddr.IPv6).isIPv4MappedAddress()) {
    parsed = (parsed as ipaddr.IPv6).toIPv4Address();
  }
  return parsed.range() !== 'unicast';
}

export class BlockedAddressError extends HubError {
  constructor(host: string, address: string) {
    super(
      'endpoint_address_blocked',
      `${host} resolves to ${address}, a private or reserved address. Deliveries to private networks are refused; ` +
        'set HOOKHUB_ALLOW_PRIVATE_NETWORKS=true only on a hub that serves a single trusted tenant.',
      { status: 400 },
    );
    this.name = 'BlockedAddressError';
  }
}

/** Checks a URL's host when it is an IP literal (a DNS lookup is never made for those). */
export function checkLiteralHost(url: URL): void {
  const host = url.hostname.replace(/^\[|\]$/g, '');
  if (net.isIP(host) && isBlockedAddress(host)) throw new BlockedAddressError(url.hostname, host);
}

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string | dns.LookupAddress[], family?: number) => void;

/**
 * A `lookup` for net/tls connect that refuses blocked addresses. The check runs
 * on the very addresses the socket connects to, so a name that changes its
 * answer between registration and delivery (DNS rebinding) is still caught.
 */
export function guardedLookup(hostname: string, options: dns.LookupOptions, callback: LookupCallback): void {
  dns.lookup(hostname, { ...options, all: true }, (err, addresses) => {
    if (err) return callback(err, []);
    const blocked = addresses.find((a) => isBlockedAddress(a.address));
    if (blocked) return callback(new BlockedAddressError(hostname, blocked.address), []);
    if (options.all) return callback(null, addresses);
    const first = addresses[0];
    if (!first) return callback(Object.assign(new Error(`no address for ${hostname}`), { code: 'ENOTFOUND' }), []);
    return callback(null, first.address, first.family);
  });
}
