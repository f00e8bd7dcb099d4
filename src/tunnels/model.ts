/**
 * A `hookhub tunnel`: a public URL (`<HOOKHUB_PUBLIC_URL>/t/<token>/`) whose requests the hub forwards over a
 * WebSocket to the developer's CLI, which sends them to a local URL. The token and the resume key are shown to
 * the client once; only their hashes are kept.
 */
export interface TunnelRecord {
  /** Public id (tun_...), what the API lists and closes by; not a credential. */
  id: string;
  tenantId: string;
  /** sha256 of the URL's token: the public URL is found by it. */
  tokenHash: string;
  /** sha256 of the key a reconnecting client proves it is this tunnel's client with. */
  resumeHash: string;
  /** The local URL the client forwards to, as it said (shown in listings; the hub never calls it). */
  target: string;
  /** The API key that opened it. */
  apiKeyId: string;
  /** The hub process holding its client, or null when no client is connected. */
  holder: string | null;
  /** When the holder last confirmed its client (a heartbeat), or when the client left. */
  lastSeenAt: Date;
  /** How long the tunnel (and its URL) is kept without a client. */
  keepSeconds: number;
  createdAt: Date;
}
