import { createPrivateKey, X509Certificate } from 'node:crypto';
import ipaddr from 'ipaddr.js';
import type { SecretBox } from '../core/secret-box';
import type { ValidationProblem } from '../events/validator';
import type { WebhookSubscription } from './model';

/** A subscription's client certificate for mutual TLS, as the sender uses it. */
export interface ClientTls {
  cert: string;
  key: string;
  ca?: string;
}

export type NetworkFields = Pick<WebhookSubscription, 'allowedIps' | 'rateLimit' | 'tlsSealed'>;

/**
 * Reads a request's network rules (allowedIps, rateLimit, tls) into record
 * fields, with a problem per bad value. The client key is sealed at once and
 * never leaves the hub again.
 */
export function networkRules(input: Record<string, unknown>, box: SecretBox): { fields: Partial<NetworkFields>; problems: ValidationProblem[] } {
  const fields: Partial<NetworkFields> = {};
  const problems: ValidationProblem[] = [];
  if (input['allowedIps'] !== undefined) {
    const list = (input['allowedIps'] as string[] | null) ?? [];
    list.forEach((entry, i) => {
      if (!validRange(entry)) problems.push({ path: `/allowedIps/${i}`, message: 'is not an IP address or CIDR range such as 203.0.113.0/24' });
    });
    fields.allowedIps = list;
  }
  if (input['rateLimit'] !== undefined) fields.rateLimit = (input['rateLimit'] as NetworkFields['rateLimit']) ?? null;
  if (input['tls'] !== undefined) {
    const tls = input['tls'] as { clientCertificate: string; clientKey: string; ca?: string } | null;
    if (tls === null) fields.tlsSealed = null;
    else {
      const tlsProblems = checkTls(tls);
      problems.push(...tlsProblems);
      if (tlsProblems.length === 0) {
        fields.tlsSealed = box.seal(JSON.stringify({ cert: tls.clientCertificate, key: tls.clientKey, ...(tls.ca ? { ca: tls.ca } : {}) } satisfies ClientTls));
      }
    }
  }
  return { fields, problems };
}

export function openTls(sealed: string | null | undefined, box: SecretBox): ClientTls | undefined {
  return sealed ? (JSON.parse(box.open(sealed)) as ClientTls) : undefined;
}

function checkTls(tls: { clientCertificate: string; clientKey: string; ca?: string }): ValidationProblem[] {
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(tls.clientCertificate);
  } catch {
    return [{ path: '/tls/clientCertificate', message: 'is not a PEM certificate' }];
  }
  try {
    if (!cert.checkPrivateKey(createPrivateKey(tls.clientKey))) return [{ path: '/tls/clientKey', message: 'does not belong to the client certificate' }];
  } catch {
    return [{ path: '/tls/clientKey', message: 'is not a PEM private key (unencrypted)' }];
  }
  if (tls.ca !== undefined) {
    try {
      new X509Certificate(tls.ca);
    } catch {
      return [{ path: '/tls/ca', message: 'is not a PEM certificate' }];
    }
  }
  if (new Date(cert.validTo).getTime() < Date.now()) return [{ path: '/tls/clientCertificate', message: `expired on ${cert.validTo}` }];
  return [];
}

function validRange(entry: string): boolean {
  if (typeof entry !== 'string') return false;
  try {
    if (entry.includes('/')) ipaddr.parseCIDR(entry);
    else ipaddr.parse(entry);
    return true;
  } catch {
    return false;
  }
}
