/**
 * How X counts a post against its 280-character limit, and a post cut to fit.
 *
 * The rules are twitter-text's (config v3, https://github.com/twitter/twitter-text/blob/master/config/v3.json),
 * as https://docs.x.com/fundamentals/counting-characters states them: the text is counted in Unicode NFC; a code
 * point weighs 1 in four ranges (U+0000–U+10FF, U+2000–U+200D, U+2010–U+201F, U+2032–U+2037) and 2 anywhere else
 * (CJK, most scripts past U+10FF, emoji); an emoji sequence (skin tones, ZWJ families, flags, keycaps) weighs 2
 * whatever it joins; and every link weighs 23, the length of the t.co link X wraps it in.
 *
 * Which words X takes for links depends on its own list of top-level domains, which this module does not carry.
 * A link with http(s):// counts 23, as X counts one on a public domain (on a made-up domain, such as
 * `https://shop.example`, X counts its characters instead). A word without it that looks like a domain
 * (`example.com`) counts as the longer of 23 and its own weight, never less than X counts it.
 */

/** The most a post may weigh. */
export const TWEET_MAX_WEIGHT = 280;
/** What a link weighs: the length of a t.co link. */
export const LINK_WEIGHT = 23;

const LIGHT_RANGES: ReadonlyArray<readonly [number, number]> = [
  [0x0000, 0x10ff],
  [0x2000, 0x200d],
  [0x2010, 0x201f],
  [0x2032, 0x2037],
];
const ELLIPSIS = '\u2026';
/** Characters X refuses in a post (twitter-text's invalid characters). */
const INVALID = /[\uFFFE\uFEFF\uFFFF]/g;
/** A whole RGI emoji sequence (the `v` flag; built at run time as the compile target predates it). */
const EMOJI = new RegExp('^\\p{RGI_Emoji}$', 'v');
/** Where a link may start, as twitter-text has it: not after an ASCII letter or digit, @, # or $ (a mention, hashtag or cashtag). */
const NOT_BEFORE_LINK = /[A-Za-z0-9@#$\uFF20\uFF03]/;
/** A URL's path, query and fragment characters. */
const PATH = "(?::\\d{1,5})?(?:[/?#][\\p{L}\\p{M}\\p{N}\\-._~%!*'();:@&=+$,/?#\\[\\]]*)?";
/**
 * Links as twitter-text finds them: with http(s)://, dotted labels of any letters and symbols (`http://☃.net/`);
 * without, ASCII labels (in `漢字example.com` the link is `example.com`) and a top-level domain of letters. Each
 * label ends at its dot, so matching is linear.
 */
const PROTOCOL_LINK = new RegExp(`https?://(?:[\\p{L}\\p{N}\\p{S}\\p{M}_-]+\\.)+\\p{L}{2,}${PATH}`, 'iuy');
const BARE_LINK = new RegExp(`(?:[A-Za-z0-9][A-Za-z0-9_-]*\\.)+\\p{L}{2,}${PATH}`, 'uy');
/** Punctuation that ends a sentence rather than a link. */
const TRAILING_PUNCTUATION = new Set(['.', ',', ';', ':', '!', '?', "'", '"', ')', ']']);
/** A link longer than this is not one (twitter-text's limit). */
const MAX_LINK_LENGTH = 4096;

const graphemes = new Intl.Segmenter('en', { granularity: 'grapheme' });

/** One unit the count and the cut treat whole: a grapheme, or a word taken for a link. */
interface Piece {
  text: string;
  weight: number;
}

function codePointWeight(codePoint: number): number {
  for (const [start, end] of LIGHT_RANGES) if (codePoint >= start && codePoint <= end) return 1;
  return 2;
}

function plainWeight(text: string): number {
  let weight = 0;
  for (const char of text) weight += codePointWeight(char.codePointAt(0) ?? 0);
  return weight;
}

function graphemeWeight(grapheme: string): number {
  return EMOJI.test(grapheme) ? 2 : plainWeight(grapheme);
}

/** The link starting at `at`, if one does (without the punctuation that ends a sentence). */
function linkAt(text: string, at: number): string | undefined {
  if (at > 0 && NOT_BEFORE_LINK.test(codePointBefore(text, at))) return undefined;
  PROTOCOL_LINK.lastIndex = at;
  BARE_LINK.lastIndex = at;
  let found = (PROTOCOL_LINK.exec(text) ?? BARE_LINK.exec(text))?.[0];
  if (found === undefined) return undefined;
  let end = found.length;
  while (end > 0 && TRAILING_PUNCTUATION.has(found[end - 1] ?? '')) end--;
  found = found.slice(0, end);
  return found.length <= MAX_LINK_LENGTH && /\.\p{L}{2,}/u.test(found) ? found : undefined;
}

/**
 * 23 for a link with http(s)://, as X counts a link to a public domain; a word without it (`example.com`) may not
 * be a link for X (its domain list decides), so it counts as the longer of 23 and its own weight.
 */
function linkWeight(link: string): number {
  return /^https?:\/\//i.test(link) ? LINK_WEIGHT : Math.max(LINK_WEIGHT, plainWeight(link));
}

/** The whole character before index `at` (both halves of a surrogate pair). */
function codePointBefore(text: string, at: number): string {
  const unit = text.charCodeAt(at - 1);
  const start = unit >= 0xdc00 && unit <= 0xdfff && at >= 2 ? at - 2 : at - 1;
  return String.fromCodePoint(text.codePointAt(start) ?? 0);
}

/** The text in pieces: links (weighing at least 23) and graphemes, in order. The text must be NFC already. */
function pieces(text: string): Piece[] {
  const out: Piece[] = [];
  let at = 0;
  for (const { segment, index } of graphemes.segment(text)) {
    if (index < at) {
      // The rest of a grapheme a link ended inside (a mark after it): kept, counted code point by code point.
      const rest = segment.slice(at - index);
      if (rest !== '') out.push({ text: rest, weight: plainWeight(rest) });
      continue;
    }
    const link = /[\p{L}\p{N}]/u.test(segment) ? linkAt(text, index) : undefined;
    if (link !== undefined) {
      out.push({ text: link, weight: linkWeight(link) });
      at = index + link.length;
    } else {
      out.push({ text: segment, weight: graphemeWeight(segment) });
      at = index + segment.length;
    }
  }
  return out;
}

/** The weight X gives the text (see the module comment for the one way it may count more). */
export function tweetWeight(text: string): number {
  return pieces(text.normalize('NFC')).reduce((sum, piece) => sum + piece.weight, 0);
}

/**
 * A post of `text` followed by the link `url` (after a space), the text cut at a word (or, failing one in its
 * last third, a grapheme) and ended with "…" when both would weigh more than 280. The link is never cut and counts
 * 23, as X counts a link to a public domain. The text is returned in NFC, without the characters X refuses.
 */
export function tweetText(text: string | undefined, url?: string): string {
  const body = (text ?? '').normalize('NFC').replace(INVALID, '').trim();
  const link = (url ?? '').normalize('NFC').replace(INVALID, '').trim();
  if (link === '') return fit(body, TWEET_MAX_WEIGHT);
  if (body === '') return link;
  return `${fit(body, TWEET_MAX_WEIGHT - LINK_WEIGHT - 1)} ${link}`;
}

/** The text itself when it weighs at most `budget`, else its longest start that leaves room for "…", and "…". */
function fit(text: string, budget: number): string {
  const all = pieces(text);
  if (all.reduce((sum, piece) => sum + piece.weight, 0) <= budget) return text;
  const room = budget - graphemeWeight(ELLIPSIS);
  let kept = 0;
  let weight = 0;
  while (kept < all.length && weight + (all[kept]?.weight ?? 0) <= room) weight += all[kept++]?.weight ?? 0;
  // A word boundary in the last third of what fits reads better than a word cut in two.
  let end = kept;
  if (!isSpace(all[kept])) {
    for (let i = kept - 1, w = weight; i > 0; i--) {
      w -= all[i]?.weight ?? 0;
      if (w < (room * 2) / 3) break;
      if (isSpace(all[i])) {
        end = i;
        break;
      }
    }
  }
  return `${all.slice(0, end).map((piece) => piece.text).join('').trimEnd()}${ELLIPSIS}`;
}

function isSpace(piece: Piece | undefined): boolean {
  return piece !== undefined && /^\s+$/u.test(piece.text);
}
