import { randomBytes } from 'node:crypto';
import { connectionOrder, rotate } from '../../src/broker/amqp/connection-order';
import { ConfigError, loadConfig } from '../../src/config/config';

const key = randomBytes(32).toString('base64');
const services = { MONGODB_URL: 'mongodb://db/hookhub', HOOKHUB_ENCRYPTION_KEYS: key };

function problemsOf(amqpUrl: string): string[] {
  try {
    loadConfig({ ...services, AMQP_URL: amqpUrl });
  } catch (err) {
    if (err instanceof ConfigError) return [...err.problems];
    throw err;
  }
  return [];
}

describe('AMQP_URL with a cluster', () => {
  it('takes one URL (a single broker or a load balancer) as before', () => {
    const config = loadConfig({ ...services, AMQP_URL: 'amqp://user:pw@rabbit-lb:5672/hub' });
    expect(config.mode).toBe('services');
    expect(config.amqpUrls).toEqual(['amqp://user:pw@rabbit-lb:5672/hub']);
  });

  it("takes a comma-separated list of the cluster's nodes, in the order given, spaces ignored", () => {
    const config = loadConfig({ ...services, AMQP_URL: 'amqp://u:p@rabbit1:5672, amqp://u:p@rabbit2:5672 ,amqps://u:p@rabbit3:5671' });
    expect(config.amqpUrls).toEqual(['amqp://u:p@rabbit1:5672', 'amqp://u:p@rabbit2:5672', 'amqps://u:p@rabbit3:5671']);
  });

  it('names each bad entry by its position, without showing passwords', () => {
    const problems = problemsOf('amqp://u:secret@rabbit1:5672,http://u:secret@rabbit2,,amqp://u:secret@rabbit1:5672');
    expect(problems).toEqual([
      expect.stringMatching(/^AMQP_URL entry 2 of 4 must start with amqp:\/\/ or amqps:\/\//),
      expect.stringMatching(/^AMQP_URL entry 3 of 4 is empty/),
      expect.stringMatching(/^AMQP_URL entry 4 of 4 repeats entry 1/),
    ]);
    expect(problems.join('\n')).not.toContain('secret');
    expect(problems.join('\n')).toContain('u:***@rabbit1:5672');
  });

  it('reports a single bad URL as AMQP_URL, and an invalid one as such', () => {
    expect(problemsOf('http://nope')).toEqual([expect.stringMatching(/^AMQP_URL must start with amqp:\/\/ or amqps:\/\//)]);
    expect(problemsOf('amqp://rabbit:notaport')).toEqual([expect.stringMatching(/^AMQP_URL is not a valid URL/)]);
    expect(problemsOf('amqp://u:p@rabbit1,amqp://')).toEqual([expect.stringMatching(/^AMQP_URL entry 2 of 2 (names no host|is not a valid URL)/)]);
  });
});

describe('order in which a process tries the nodes', () => {
  const nodes = ['a', 'b', 'c'];

  it('keeps the cyclic order of the list and starts where the random draw says', () => {
    expect(connectionOrder(nodes, () => 0)).toEqual(['a', 'b', 'c']);
    expect(connectionOrder(nodes, () => 0.5)).toEqual(['b', 'c', 'a']);
    expect(connectionOrder(nodes, () => 0.99)).toEqual(['c', 'a', 'b']);
    expect(connectionOrder(['only'], () => 0.7)).toEqual(['only']);
  });

  it('spreads processes over every node', () => {
    const firsts = new Map<string, number>();
    let seed = 1;
    const random = (): number => ((seed = (seed * 16807) % 2147483647) - 1) / 2147483646;
    for (let i = 0; i < 300; i += 1) {
      const first = connectionOrder(nodes, random)[0] as string;
      firsts.set(first, (firsts.get(first) ?? 0) + 1);
    }
    expect([...firsts.keys()].sort()).toEqual(nodes);
    for (const count of firsts.values()) expect(count).toBeGreaterThan(50);
  });

  it('rotates with wrap-around', () => {
    expect(rotate(nodes, 4)).toEqual(['b', 'c', 'a']);
    expect(rotate(nodes, -1)).toEqual(['c', 'a', 'b']);
    expect(rotate([], 2)).toEqual([]);
  });
});
