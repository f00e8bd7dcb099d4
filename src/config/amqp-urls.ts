/**
 * AMQP_URL takes one URL (a single broker, or a load balancer in front of a
 * cluster) or a comma-separated list of the URLs of a cluster's nodes. Each
 * entry is checked on its own so that one bad entry is named, with its position,
 * and passwords never appear in the message.
 */
export function parseAmqpUrls(raw: string): { urls: string[]; problems: string[] } {
  const entries = raw.split(',').map((entry) => entry.trim());
  const urls: string[] = [];
  const problems: string[] = [];
  const where = (index: number): string => (entries.length === 1 ? 'AMQP_URL' : `AMQP_URL entry ${index + 1} of ${entries.length}`);
  const seen = new Map<string, number>();
  entries.forEach((entry, index) => {
    if (entry === '') {
      problems.push(`${where(index)} is empty: list the nodes' URLs separated by single commas, e.g. amqp://user:pass@rabbit1:5672,amqp://user:pass@rabbit2:5672.`);
      return;
    }
    if (!/^amqps?:\/\//i.test(entry)) {
      problems.push(`${where(index)} must start with amqp:// or amqps:// (got "${redactAmqpUrl(entry)}").`);
      return;
    }
    let parsed: URL;
    try {
      parsed = new URL(entry);
    } catch {
      problems.push(`${where(index)} is not a valid URL (got "${redactAmqpUrl(entry)}").`);
      return;
    }
    if (parsed.hostname === '') {
      problems.push(`${where(index)} names no host (got "${redactAmqpUrl(entry)}").`);
      return;
    }
    const key = `${parsed.protocol}//${parsed.host}${parsed.pathname}`;
    const earlier = seen.get(key);
    if (earlier !== undefined) {
      problems.push(`${where(index)} repeats entry ${earlier + 1} (${redactAmqpUrl(entry)}): list each node once.`);
      return;
    }
    seen.set(key, index);
    urls.push(entry);
  });
  return { urls, problems };
}

/** The URL with its password replaced, for logs and error messages. */
export function redactAmqpUrl(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/[^:@/]*:)[^@/]*@/i, '$1***@');
}
