import { createHash } from 'node:crypto';
import { compileJsonata } from '../../src/core/jsonata';
import { DEFAULT_SANDBOX_OPTIONS, ExpressionLimitError, ExpressionSandbox } from '../../src/core/sandbox/expression-sandbox';

const sandbox = new ExpressionSandbox({ ...DEFAULT_SANDBOX_OPTIONS, timeoutMs: 500, idleMs: 5000 });
afterAll(() => sandbox.close());

const event = { id: 'evt_1', type: 'business.created', data: { name: `${'a'.repeat(30)}!`, rating: 4, tags: ['x', 'y'] } };

/** Expressions a hostile tenant could register (all of them pass the registration checks). */
const HOSTILE: Array<[string, string]> = [
  ['a string padded to 200 million characters', '$length($pad("x", 200000000))'],
  ['a join of a huge generated array', '$length($join([1..10000000].$string(), ","))'],
  ['a string doubled until it is too large', '($f := function($s, $n){ $n = 0 ? $s : $f($s & $s, $n - 1) }; $length($f("xxxxxxxx", 40)))'],
  ['an array grown in a closure loop', '($grow := function($a, $n){ $n = 0 ? $a : $grow($append($a, [1..1000]), $n - 1) }; $count($grow([], 100000)))'],
  ['infinite recursion', '($f := function($n){ $f($n + 1) }; $f(0))'],
  ['deep recursion', '($f := function($n){ $n = 0 ? 0 : 1 + $f($n - 1) }; $f(1000000))'],
  ['a range of a billion', '$count([1..1e9])'],
  ['a backtracking regex in $match', '$exists($match(data.name, /(a|a)+$/))'],
  ['a backtracking regex in $replace', '$replace(data.name, /(a|a)+$/, "b")'],
  ['a backtracking regex in $split', '$count($split(data.name, /(a|a)+$/))'],
  ['a backtracking regex in $contains', '$contains(data.name, /(a|a)+$/)'],
  ['a regex built at run time', '$exists($match(data.name, $eval("/(a+)+$/")))'],
];

describe('the expression sandbox', () => {
  it('evaluates filters and transforms, with bindings and the hub functions they call', async () => {
    await expect(sandbox.evaluate('data.rating > 3', event)).resolves.toBe(true);
    await expect(sandbox.evaluate('{"n": data.name, "t": $count(data.tags)}', event)).resolves.toEqual({ n: event.data.name, t: 2 });
    await expect(sandbox.evaluate('$nothing', event)).resolves.toBeUndefined();
    const lookups: unknown[] = [];
    const ref = async (type: unknown, key: unknown): Promise<string> => {
      lookups.push([type, key]);
      return `id_${String(key)}`;
    };
    await expect(sandbox.evaluate('{"company": $ref("company", data.name), "region": $config.region}', event, { config: { region: 'eu' }, ref })).resolves.toEqual({
      company: `id_${event.data.name}`,
      region: 'eu',
    });
    expect(lookups).toEqual([['company', event.data.name]]);
  });

  it('reports a JSONata error as an unrecoverable evaluation failure, not a limit', async () => {
    const err = await sandbox.evaluate('$error("no mapping")', event).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'jsonata_evaluation_failed', name: 'UnrecoverableError' });
    expect(err).not.toBeInstanceOf(ExpressionLimitError);
  });

  it.each(HOSTILE)('stops %s with a limit error and keeps serving other expressions', async (_name, source) => {
    const started = Date.now();
    const [hostile, ...innocent] = await Promise.allSettled([
      sandbox.evaluate(source, event),
      sandbox.evaluate('data.rating * 2', event),
      sandbox.evaluate('$uppercase(data.tags[0])', event),
    ]);
    expect(hostile.status).toBe('rejected');
    const err = (hostile as PromiseRejectedResult).reason as Error;
    // Either a sandbox limit or a JSONata limit (range, sequence length): never a hang, never a dead hub.
    expect(err).toMatchObject({ code: expect.stringMatching(/^(expression_(timeout|memory_exceeded|crashed)|jsonata_evaluation_failed)$/) });
    expect(err.message.length).toBeGreaterThan(20);
    expect(innocent.map((r) => (r.status === 'fulfilled' ? r.value : r.reason))).toEqual([8, 'X']);
    // Generous bound: the deadline is 500 ms; a respawn and a re-run of the innocent ones come on top.
    expect(Date.now() - started).toBeLessThan(15_000);
    await expect(sandbox.evaluate('data.rating', event)).resolves.toBe(4);
  });

  it('blames only the expression that hit the limit when it shared a batch with others', async () => {
    const batch = await Promise.allSettled([
      sandbox.evaluate('data.rating + 1', { ...event }),
      sandbox.evaluate('$exists($match(data.name, /(a|a)+$/))', { ...event, data: { ...event.data, name: `${'a'.repeat(31)}!` } }),
      sandbox.evaluate('data.rating + 2', { ...event }),
    ]);
    expect(batch.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect((batch[1] as PromiseRejectedResult).reason).toBeInstanceOf(ExpressionLimitError);
    expect((batch[1] as PromiseRejectedResult).reason).toMatchObject({ code: 'expression_timeout', status: 422, limit: 'timeout' });
  });

  it('keeps an expression that hit a limit on the quarantine process, and counts it', async () => {
    const source = '$exists($match(data.name, /(x|x)+$/))';
    const hostileInput = { data: { name: `${'x'.repeat(32)}!` } };
    await expect(sandbox.evaluate(source, hostileInput)).rejects.toBeInstanceOf(ExpressionLimitError);
    const before = sandbox.stats();
    expect(before.quarantined).toBeGreaterThan(0);
    expect(before.failures.timeout).toBeGreaterThan(0);
    // Quarantined, the same expression still runs (on its own process) for inputs it handles well.
    await expect(sandbox.evaluate(source, { data: { name: 'xx' } })).resolves.toBe(true);
  });
});

describe('registration checks', () => {
  it('refuses a regular expression that can backtrack catastrophically, saying why', () => {
    expect(() => compileJsonata('$match(data.name, /(a+)+$/)')).toThrow(expect.objectContaining({ code: 'jsonata_unsafe_regex', status: 400 }));
    expect(() => compileJsonata('$match(data.name, /(a+)+$/)')).toThrow(/exponential time/);
    expect(() => compileJsonata('$contains(data.email, /^[a-z0-9.]+@example\\.com$/)')).not.toThrow();
  });

  it('still reports syntax errors with their position', () => {
    expect(() => compileJsonata('data.name = ')).toThrow(expect.objectContaining({ code: 'jsonata_syntax_error', status: 400 }));
  });
});

describe('$md5 in the sandbox', () => {
  it("gives the lower-case hex MD5 of a string's UTF-8 bytes (Mailchimp's subscriber hash), undefined for nothing, and refuses a non-string", async () => {
    // md5('urist.mcvankab@freddiesjokes.com'), Mailchimp's own example of a subscriber hash.
    expect(await compileJsonata('$md5($lowercase(email))').evaluate({ email: 'Urist.McVankab@freddiesjokes.com' })).toBe('62eeb292278cc15f5817cb78f7790b08');
    expect(await compileJsonata('$md5("é")').evaluate({})).toBe(createHash('md5').update(Buffer.from([0xc3, 0xa9])).digest('hex'));
    expect(await compileJsonata('$md5(missing)').evaluate({})).toBeUndefined();
    await expect(compileJsonata('$md5(1)').evaluate({})).rejects.toThrow();
  });
});

describe('$parseJson in the sandbox', () => {
  it('reads the JSON a text holds (a header carrying JSON), nothing for an absent or garbled text, and refuses a non-string', async () => {
    const usage = '{"1234":[{"type":"pages","call_count":100,"total_cputime":12,"total_time":30,"estimated_time_to_regain_access":19}]}';
    const minutes = '$max($parseJson($headers.`x-business-use-case-usage`).*.estimated_time_to_regain_access)';
    expect(await compileJsonata(minutes).evaluate({}, { headers: { 'x-business-use-case-usage': usage } })).toBe(19);
    expect(await compileJsonata('$parseJson(h).call_count').evaluate({ h: '{"call_count":28,"total_time":25}' })).toBe(28);
    expect(await compileJsonata('$parseJson(h)').evaluate({ h: '{"call_count":' })).toBeUndefined();
    expect(await compileJsonata('$parseJson(missing)').evaluate({})).toBeUndefined();
    await expect(compileJsonata('$parseJson(1)').evaluate({})).rejects.toThrow();
  });
});
