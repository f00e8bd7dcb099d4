import net from 'node:net';
import tls from 'node:tls';
import type { PeerCertificate, TLSSocket } from 'node:tls';
import { Agent } from 'undici';
import type { Dispatcher } from 'undici';
import { errorMessage } from '../core/errors';
import { newId } from '../core/ids';
import { checkedLookup, parseAllowedIps, urlProblem } from './network-guard';
import { USER_AGENT } from './http-sender';
import { generateSecret, signPayload } from './signing';

/** A plain-words finding about an endpoint; `error`: deliveries would fail, `warning`: they would work, with a risk. */
export interface EndpointIssue {
  code: string;
  severity: 'error' | 'warning';
  message: string;
}

export interface TlsReport {
  /** The chain leads to a trusted CA and names the host. */
  authorized: boolean;
  /** Why it is not trusted (node's verification error, e.g. DEPTH_ZERO_SELF_SIGNED_CERT); null when it is. */
  error: string | null;
  /** e.g. TLSv1.3 */
  protocol: string | null;
  cipher: string | null;
  subject: string | null;
  issuer: string | null;
  subjectAltNames: string | null;
  validFrom: string | null;
  /** ISO time the certificate expires. */
  validTo: string | null;
  daysLeft: number | null;
}

export interface EndpointCheck {
  url: string;
  /** A connection (and TLS handshake, for https) was made. */
  reachable: boolean;
  /** The addresses the host resolved to (the ones the guard let through). */
  addresses: string[];
  /** Time to connect, TLS handshake included. */
  connectMs: number | null;
  tls: TlsReport | null;
  /** The signed test POST; null when none was sent (a connection check only, or no connection). */
  request: {
    status: number | null;
    durationMs: number;
    /** A 3xx answer: where it points. Hookhub never follows redirects. */
    redirect: { status: number; location: string | null } | null;
    /** The first KiB of the answer. */
    body: string | null;
    error: string | null;
    /** Signed with the secret given, or a throwaway one (a receiver that verifies refuses it). */
    signedWith: 'given_secret' | 'throwaway_secret';
  } | null;
  issues: EndpointIssue[];
  checkedAt: string;
}

export interface EndpointCheckOptions {
  /** The longest the whole check takes. */
  timeoutMs: number;
  /** The hub's HOOKHUB_ALLOW_PRIVATE_NETWORKS: otherwise the SSRF guard refuses private and reserved addresses. */
  allowPrivateNetworks: boolean;
  /** Production: https only. */
  requireHttps: boolean;
  /** How long a delivery may take before it times out: an endpoint slower than half of it is warned about. */
  deliveryTimeoutMs: number;
}

export interface CheckRequest {
  url: string;
  /** `post`: connect, then a signed test POST; `connect`: connection and TLS only, nothing is sent. */
  probe: 'post' | 'connect';
  /** Signs the test POST (a whsec_ secret or whsk_ key); default a throwaway secret. */
  secret?: string | undefined;
  /** The subscription's network rules, when checking its endpoint. */
  allowedIps?: readonly string[] | undefined;
  clientTls?: { cert: string; key: string; ca?: string } | undefined;
  /** Another CA to trust besides the public ones (a subscription's tls.ca). */
  ca?: string | undefined;
}

const BODY_SHOWN = 1024;
const EXPIRY_WARNING_DAYS = 14;

/**
 * Checks an endpoint as deliveries would reach it: the SSRF guard and URL rules, DNS, the connection,
 * TLS (chain, protocol, expiry, issuer), then (probe `post`) a signed test POST whose answer, time
 * and redirect are reported; redirects are never followed. Every finding is an issue in plain words.
 */
export class EndpointChecker {
  constructor(private readonly options: EndpointCheckOptions) {}

  async check(input: CheckRequest): Promise<EndpointCheck> {
    const report: EndpointCheck = { url: input.url, reachable: false, addresses: [], connectMs: null, tls: null, request: null, issues: [], checkedAt: new Date().toISOString() };
    const deadline = Date.now() + this.options.timeoutMs;
    const problem = await urlProblem(input.url, {
      requireHttps: this.options.requireHttps,
      allowPrivateNetworks: this.options.allowPrivateNetworks,
      credentialsHint: 'send them in a secret header of the subscription instead',
    });
    if (problem !== null) {
      report.issues.push({ code: 'url_refused', severity: 'error', message: `The URL ${problem}.` });
      return report;
    }
    const url = new URL(input.url);
    if (url.protocol === 'http:') report.issues.push({ code: 'plain_http', severity: 'warning', message: 'The endpoint uses plain http: deliveries can be read and changed on the way. Use https.' });
    const allowed = input.allowedIps?.length ? parseAllowedIps(input.allowedIps) : null;
    const lookup = checkedLookup(!this.options.allowPrivateNetworks, allowed);
    const addresses = new Set<string>();
    // An IP literal is connected to as it is, without a lookup.
    const literal = url.hostname.replace(/^\[|\]$/g, '');
    if (net.isIP(literal)) addresses.add(literal);
    const recordingLookup: typeof lookup = (hostname, options, callback) =>
      lookup(hostname, options, (err, address, family) => {
        if (!err) for (const a of Array.isArray(address) ? address : [{ address }]) addresses.add(a.address);
        callback(err, address, family);
      });
    const ca = input.ca ?? input.clientTls?.ca;
    const connected = await this.connect(url, recordingLookup, ca, input.clientTls, deadline - Date.now());
    report.addresses = [...addresses];
    if ('error' in connected) {
      report.issues.push(connectIssue(url, connected.error, this.options.timeoutMs));
      return report;
    }
    report.reachable = true;
    report.connectMs = connected.connectMs;
    report.tls = connected.tls;
    if (connected.tls) report.issues.push(...tlsIssues(connected.tls, input.ca !== undefined || input.clientTls?.ca !== undefined));
    if (input.probe === 'connect') return report;
    const remaining = deadline - Date.now();
    if (remaining <= 0) {
      report.issues.push({ code: 'timeout', severity: 'error', message: `The check ran out of its ${this.options.timeoutMs} ms before the test POST could be sent.` });
      return report;
    }
    report.request = await this.post(url, input, recordingLookup, ca, remaining);
    report.issues.push(...answerIssues(report.request, this.options.deliveryTimeoutMs));
    return report;
  }

  /** TCP (and TLS) to the endpoint with the guarded lookup; the certificate is read even when not trusted. */
  private connect(url: URL, lookup: net.LookupFunction, ca: string | undefined, clientTls: CheckRequest['clientTls'], timeoutMs: number): Promise<{ connectMs: number; tls: TlsReport | null } | { error: NodeJS.ErrnoException }> {
    const host = url.hostname.replace(/^\[|\]$/g, '');
    const port = Number(url.port || (url.protocol === 'https:' ? 443 : 80));
    const started = performance.now();
    return new Promise((resolve) => {
      let socket: net.Socket;
      const done = (value: { connectMs: number; tls: TlsReport | null } | { error: NodeJS.ErrnoException }): void => {
        clearTimeout(timer);
        socket.destroy();
        resolve(value);
      };
      const timer = setTimeout(() => done({ error: Object.assign(new Error('timed out'), { code: 'ETIMEDOUT' }) }), Math.max(1, timeoutMs));
      if (url.protocol === 'https:') {
        socket = tls.connect({
          host,
          port,
          lookup,
          ...(net.isIP(host) ? {} : { servername: host }),
          rejectUnauthorized: false,
          ...(ca ? { ca: [...tls.rootCertificates, ca] } : {}),
          ...(clientTls ? { cert: clientTls.cert, key: clientTls.key } : {}),
        });
        socket.once('secureConnect', () => done({ connectMs: Math.round(performance.now() - started), tls: tlsReport(socket as TLSSocket) }));
      } else {
        socket = net.connect({ host, port, lookup });
        socket.once('connect', () => done({ connectMs: Math.round(performance.now() - started), tls: null }));
      }
      socket.once('error', (err) => done({ error: err as NodeJS.ErrnoException }));
    });
  }

  private async post(url: URL, input: CheckRequest, lookup: net.LookupFunction, ca: string | undefined, timeoutMs: number): Promise<NonNullable<EndpointCheck['request']>> {
    const secret = input.secret ?? generateSecret();
    const event = { id: newId('evt_check'), type: 'webhook.endpoint_check', created: new Date().toISOString(), data: { check: true }, webhook: { subscription_id: null, delivery_attempt: 1 } };
    const body = JSON.stringify(event);
    const headers = { 'content-type': 'application/json', 'user-agent': USER_AGENT, ...signPayload(newId('msg_check'), Math.floor(Date.now() / 1000), body, [secret]) };
    const agent = new Agent({
      connections: 1,
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
      connect: {
        timeout: timeoutMs,
        lookup,
        // Verified as deliveries verify it: the public CAs, and the subscription's own CA when it has one.
        rejectUnauthorized: true,
        ...(ca ? { ca: [...tls.rootCertificates, ca] } : {}),
        ...(input.clientTls ? { cert: input.clientTls.cert, key: input.clientTls.key } : {}),
      },
    });
    const started = performance.now();
    const signedWith = input.secret === undefined ? 'throwaway_secret' : 'given_secret';
    try {
      const response = await agent.request({ origin: url.origin, path: `${url.pathname}${url.search}`, method: 'POST' as Dispatcher.HttpMethod, headers, body, signal: AbortSignal.timeout(timeoutMs) });
      const text = (await response.body.text()).slice(0, BODY_SHOWN);
      const location = response.headers['location'];
      const redirect = response.statusCode >= 300 && response.statusCode < 400 ? { status: response.statusCode, location: typeof location === 'string' ? location : null } : null;
      return { status: response.statusCode, durationMs: Math.round(performance.now() - started), redirect, body: text, error: null, signedWith };
    } catch (err) {
      return { status: null, durationMs: Math.round(performance.now() - started), redirect: null, body: null, error: errorMessage(err), signedWith };
    } finally {
      void agent.close();
    }
  }
}

function tlsReport(socket: TLSSocket): TlsReport {
  const cert = socket.getPeerCertificate() as PeerCertificate | Record<string, never>;
  const has = 'valid_to' in cert && typeof cert.valid_to === 'string';
  const validTo = has ? new Date(cert.valid_to) : null;
  return {
    authorized: socket.authorized,
    error: socket.authorized ? null : String(socket.authorizationError ?? 'not trusted'),
    protocol: socket.getProtocol(),
    cipher: socket.getCipher()?.name ?? null,
    subject: has ? distinguishedName(cert.subject) : null,
    issuer: has ? distinguishedName(cert.issuer) : null,
    subjectAltNames: has ? (cert.subjectaltname ?? null) : null,
    validFrom: has ? new Date(cert.valid_from).toISOString() : null,
    validTo: validTo?.toISOString() ?? null,
    daysLeft: validTo ? Math.floor((validTo.getTime() - Date.now()) / 86_400_000) : null,
  };
}

function distinguishedName(name: PeerCertificate['subject'] | undefined): string | null {
  if (!name) return null;
  return Object.entries(name)
    .map(([k, v]) => `${k}=${Array.isArray(v) ? v.join('+') : String(v)}`)
    .join(', ');
}

function connectIssue(url: URL, err: NodeJS.ErrnoException, timeoutMs: number): EndpointIssue {
  const where = `${url.hostname}:${url.port || (url.protocol === 'https:' ? 443 : 80)}`;
  switch (err.code) {
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return { code: 'dns_failed', severity: 'error', message: `The host ${url.hostname} does not resolve (${err.code}): check the spelling, and that its DNS record exists.` };
    case 'ECONNREFUSED':
      return { code: 'connection_refused', severity: 'error', message: `Nothing accepts connections at ${where} (connection refused): is the server running and listening on that port?` };
    case 'ETIMEDOUT':
      return { code: 'connect_timeout', severity: 'error', message: `No connection to ${where} within ${timeoutMs} ms: a firewall may drop the traffic, or the host is down.` };
    case 'ECONNRESET':
      return { code: 'connection_reset', severity: 'error', message: `${where} closed the connection during the handshake${url.protocol === 'https:' ? ' (it may require a client certificate, or not speak TLS on that port)' : ''}.` };
    default:
      if (err.name === 'BlockedAddressError' || err.name === 'AddressNotAllowedError') return { code: 'address_refused', severity: 'error', message: err.message };
      return { code: 'connect_failed', severity: 'error', message: `Could not connect to ${where}: ${err.message}${err.code ? ` (${err.code})` : ''}.` };
  }
}

function tlsIssues(report: TlsReport, extraCa: boolean): EndpointIssue[] {
  const issues: EndpointIssue[] = [];
  if (!report.authorized) {
    issues.push({
      code: 'tls_untrusted',
      severity: 'error',
      message: `The TLS certificate is not trusted (${report.error ?? 'unknown reason'}): deliveries will fail until the server presents a chain to a public CA${extraCa ? ' or the CA given' : ' (or give the subscription your CA in tls.ca)'}.`,
    });
  }
  if (report.daysLeft !== null && report.validTo !== null) {
    if (report.daysLeft < 0) issues.push({ code: 'tls_expired', severity: 'error', message: `The TLS certificate expired on ${report.validTo.slice(0, 10)}.` });
    else if (report.daysLeft < EXPIRY_WARNING_DAYS) issues.push({ code: 'tls_expires_soon', severity: 'warning', message: `The TLS certificate expires on ${report.validTo.slice(0, 10)}, in ${report.daysLeft} days: renew it before deliveries start failing.` });
  }
  if (report.protocol === 'TLSv1' || report.protocol === 'TLSv1.1') issues.push({ code: 'tls_old_protocol', severity: 'warning', message: `The server negotiated ${report.protocol}, which is deprecated: enable TLS 1.2 or 1.3.` });
  return issues;
}

function answerIssues(request: NonNullable<EndpointCheck['request']>, deliveryTimeoutMs: number): EndpointIssue[] {
  const issues: EndpointIssue[] = [];
  const status = request.status;
  if (status === null) {
    issues.push({ code: 'no_answer', severity: 'error', message: `The test POST got no answer: ${request.error ?? 'unknown error'}.` });
    return issues;
  }
  if (request.redirect) {
    issues.push({
      code: 'redirect',
      severity: 'error',
      message: `The endpoint answered ${status} redirecting to ${request.redirect.location ?? '(no Location header)'}: Hookhub never follows redirects, so deliveries would fail. Subscribe the final URL.`,
    });
  } else if ((status === 401 || status === 403) && request.signedWith === 'throwaway_secret') {
    issues.push({ code: 'refused_signature', severity: 'warning', message: `The endpoint answered ${status}. Expected if it verifies signatures: the test POST was signed with a throwaway secret; give the subscription's secret to check verification too.` });
  } else if (status === 410) {
    issues.push({ code: 'gone', severity: 'error', message: 'The endpoint answered 410 Gone: Hookhub disables a subscription whose endpoint answers 410.' });
  } else if (status === 404) {
    issues.push({ code: 'not_found', severity: 'error', message: 'The endpoint answered 404 Not Found: check the path.' });
  } else if (status >= 400) {
    issues.push({ code: 'error_status', severity: 'error', message: `The endpoint answered ${status}: deliveries answered so are retried, then dead-lettered. Answer 2xx as soon as the event is stored.` });
  }
  if (request.durationMs > deliveryTimeoutMs / 2) {
    issues.push({
      code: 'slow',
      severity: 'warning',
      message: `The endpoint took ${request.durationMs} ms to answer; deliveries time out after ${deliveryTimeoutMs} ms. Answer at once (enqueue the work, then 2xx).`,
    });
  }
  return issues;
}
