/** The secrets of a link a masker hides: its credentials and the values of its secret config fields. */
export interface MaskedSecrets {
  credentials: Record<string, unknown>;
  secretValues?: readonly string[];
}

/** Replaces every secret of a link (credentials, secret config values) in a text; URLs keep their origin. */
export function secretMasker(ctx: MaskedSecrets): (text: string) => string {
  const secrets: string[] = [];
  const collect = (value: unknown): void => {
    if (typeof value === 'string' && value.length >= 6) secrets.push(value);
    else if (value && typeof value === 'object') for (const v of Object.values(value)) collect(v);
  };
  collect(ctx.credentials);
  for (const v of ctx.secretValues ?? []) collect(v);
  secrets.sort((a, b) => b.length - a.length);
  return (text) => {
    let out = text;
    for (const secret of secrets) {
      if (!out.includes(secret)) continue;
      let replacement = '[redacted]';
      try {
        const u = new URL(secret);
        replacement = `${u.origin}/[redacted]`;
      } catch {
        /* not a URL */
      }
      out = out.split(secret).join(replacement);
      const encoded = encodeURIComponent(secret);
      if (encoded !== secret) out = out.split(encoded).join('[redacted]');
    }
    return out;
  };
}
