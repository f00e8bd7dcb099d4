import { parseTweet } from 'twitter-text';
import { compileJsonata } from '../../src/core/jsonata';
import { LINK_WEIGHT, TWEET_MAX_WEIGHT, tweetText, tweetWeight } from '../../src/core/tweet-text';

/**
 * X's weighted count (twitter-text config v3) and $tweetText. The expected weights are twitter-text's own
 * conformance cases (conformance/validate.yml, WeightedTweetsWithDiscountedEmojiCounterTest and
 * UnicodeDirectionalMarkerCounterTest); the library itself is the second opinion on everything $tweetText makes.
 */
const LINK = 'https://lawless.directory/b/biz_1a2b3c';

describe('tweetWeight: twitter-text conformance cases', () => {
  const x = 'xxxxxxxxxx-';
  it.each([
    ['Hi http://test.co', 26],
    ['http://test.co', 23],
    [`285 chars-${x.repeat(25)}`, 285],
    [`285 chars- http://www.twitter.com/jack ${x.repeat(24)}`, 299],
    [`${x.repeat(24)} http://www.twitter.com/jack `, 289],
    ['https://www.twitter.com/aloha '.repeat(10), 240],
    ['故人西辞黄鹤楼，烟花三月下扬州。孤帆远影碧空尽，唯见长江天际流。朱雀桥边野草花，乌衣巷口夕阳斜。旧时王谢堂前燕，飞入寻常百姓家。朝辞白帝彩云间，千里江陵一日还。两岸猿声啼不住，轻舟已过万重山。泪湿罗巾梦不成，夜深前殿按歌声。红颜未老恩先断，斜倚薰笼坐到明。独在异乡为异客，每逢佳节倍思亲。遥知兄弟登高处，遍插茱萸少一人。', 320],
    ['😷'.repeat(160), 320],
    [`282 chars-${x.repeat(24)}xxxxx\u0041\u0301x`, 281],
    ['H🐱☺👨‍👩‍👧‍👦', 7],
    ['😷👾😡🔥💩', 10],
    ['🙋🏽👨‍🎤', 4],
    ['This is a tweet with general punctuation characters: \u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200A\u200B ‐ ‑ ‒ – — ― ‖  ‗ ‘ ’ ‚ ‛ “ ” „ ‟ ′ ″ ‴ ‵ ‶ ‷', 110],
    ['randomurlrandomurlrandomurlrandomurlrandomurlrandomurlrandomurls.com', 68],
    ['👨‍👩‍👧‍👦'.repeat(140), 280],
    ['Unicode 10.0 emoji: 🤪; 🧕; 🧕🏾; 🏴󠁧󠁢󠁥󠁮󠁧󠁿', 34],
    ['Unicode 9.0 emoji: 🤠; 💃; 💃🏾', 29],
    ['ABC\u202A\uFFFFABC\uFFFE', 12],
    ['\u2066\u202Ahttp://foobar.پاکستان/\u202C\u2069', 31],
  ])('case %# weighs %i', (text, weight) => {
    expect(tweetWeight(text)).toBe(weight);
  });

  it('never counts less than twitter-text, and the same for text without link-like words', () => {
    const samples = [
      'Plain ASCII text, with punctuation!',
      'Ünïcödé Latin-1 and ĦĳŁ Latin Extended',
      'Русский текст и ελληνικά',
      '한국어 텍스트와 日本語のテキスト',
      'Emoji 🥐 with skin tones 👍🏽 and flags 🇺🇸🇯🇵 and keycaps 1️⃣',
      'A link https://lawless.directory/b/1 in the middle',
      'Words like example.com and St.Louis look like links',
      'Decomposed e\u0301 and composed é',
    ];
    for (const text of samples) expect(tweetWeight(text)).toBeGreaterThanOrEqual(parseTweet(text).weightedLength);
    for (const text of samples.slice(0, 5).concat(samples[7] ?? '')) expect(tweetWeight(text)).toBe(parseTweet(text).weightedLength);
  });
});

describe('tweetText', () => {
  it('keeps a text that fits as it is, followed by the link', () => {
    expect(tweetText('New on Lawless Directory: Rosa\u2019s Bakery.', LINK)).toBe(`New on Lawless Directory: Rosa\u2019s Bakery. ${LINK}`);
    expect(tweetText('Just text')).toBe('Just text');
    expect(tweetText(undefined, LINK)).toBe(LINK);
    expect(tweetText('  padded  ', undefined)).toBe('padded');
  });

  it('uses the full 280 when the text alone is exactly that long, and cuts one character more', () => {
    const exact = 'a'.repeat(TWEET_MAX_WEIGHT);
    expect(tweetText(exact)).toBe(exact);
    expect(tweetText(`${exact}b`)).toBe(`${'a'.repeat(TWEET_MAX_WEIGHT - 2)}\u2026`);
    const beside = 'a'.repeat(TWEET_MAX_WEIGHT - LINK_WEIGHT - 1);
    expect(tweetText(beside, LINK)).toBe(`${beside} ${LINK}`);
  });

  it('cuts at a word with "…" so that text and link weigh at most 280 (the link counts 23 however long)', () => {
    const text = 'Crusty outside, soft inside, and the staff are lovely. '.repeat(8);
    const post = tweetText(text, LINK);
    expect(post).toMatch(/^Crusty outside, .*[a-z,.]\u2026 https:\/\/lawless\.directory\/b\/biz_1a2b3c$/u);
    expect(post.endsWith(` ${LINK}`)).toBe(true);
    expect(post).not.toMatch(/ \u2026/u);
    const weight = parseTweet(post).weightedLength;
    expect(weight).toBeLessThanOrEqual(TWEET_MAX_WEIGHT);
    expect(weight).toBeGreaterThan(TWEET_MAX_WEIGHT - 20);
    expect(tweetWeight(post)).toBe(weight);
  });

  it('counts CJK and emoji as 2 and never splits an emoji sequence or a grapheme', () => {
    const cjk = tweetText('焼きたてのパンがとても美味しいです。'.repeat(20), LINK);
    expect(parseTweet(cjk).weightedLength).toBeLessThanOrEqual(TWEET_MAX_WEIGHT);
    expect(parseTweet(cjk).weightedLength).toBeGreaterThanOrEqual(TWEET_MAX_WEIGHT - 2);
    const families = tweetText('👨‍👩‍👧‍👦'.repeat(200));
    expect(families).toBe(`${'👨‍👩‍👧‍👦'.repeat(139)}\u2026`);
    expect(parseTweet(families).weightedLength).toBe(280);
  });

  it('keeps a link-like word of the text whole, counting it as at least 23', () => {
    const text = `${'word '.repeat(52)}see example.com/menu for more`;
    const post = tweetText(text);
    expect(post.endsWith('\u2026')).toBe(true);
    expect(post).not.toMatch(/example\.c?o?\u2026|exam\u2026/u);
    expect(parseTweet(post).weightedLength).toBeLessThanOrEqual(TWEET_MAX_WEIGHT);
  });

  it('normalizes to NFC and drops the characters X refuses', () => {
    expect(tweetText('Cafe\u0301 \uFEFFopen\uFFFE')).toBe('Caf\u00e9 open');
  });

  it('stays within 280 by twitter-text for texts of every kind and length', () => {
    const parts = ['word ', 'mot ', '漢字', '🥐', '👨‍👩‍👧‍👦', 'é', 'https://t.co/abc ', 'example.com', 'bücher.de ', 'ñandú.com.ar ', '\n', 'Ω', '— ', '(', ')', '_'];
    let seed = 7;
    const next = (): number => (seed = (seed * 1103515245 + 12345) % 2147483648);
    for (let i = 0; i < 500; i++) {
      let text = '';
      const n = next() % 200;
      for (let j = 0; j < n; j++) text += parts[next() % parts.length];
      for (const url of [undefined, LINK]) {
        const post = tweetText(text, url);
        expect(parseTweet(post).weightedLength).toBeLessThanOrEqual(TWEET_MAX_WEIGHT);
        if (url) expect(post.endsWith(url)).toBe(true);
      }
    }
  });
});

describe('$tweetText in the expression sandbox', () => {
  it('is bound in every expression, takes a missing link, and refuses what is not a string', async () => {
    const expression = compileJsonata('$tweetText(name & " is now verified.", $exists(id) ? "https://lawless.directory/b/" & id)');
    expect(await expression.evaluate({ name: "Rosa's", id: 'biz_1' })).toBe("Rosa's is now verified. https://lawless.directory/b/biz_1");
    expect(await expression.evaluate({ name: "Rosa's" })).toBe("Rosa's is now verified.");
    expect(await compileJsonata('$tweetText(text)').evaluate({ text: '漢'.repeat(200) })).toBe(`${'漢'.repeat(139)}\u2026`);
    await expect(compileJsonata('$tweetText(1)').evaluate({})).rejects.toThrow();
  });
});
