/**
 * How deeply a request body or an event may nest objects and arrays. Real bodies need a
 * handful of levels; far deeper ones overflow the stack of recursive code such
 * as JSON.stringify (a RangeError, then a 500) and exceed the nesting MongoDB
 * stores (100 levels, counted from the stored document, which wraps the body).
 */
export const MAX_JSON_DEPTH = 32;

/**
 * True when `value` nests objects/arrays more than `max` levels (a top-level
 * object is level 1). Iterative, so a body of 100,000 nested arrays cannot
 * overflow the stack here either; stops at the first value past the limit.
 */
export function exceedsDepth(value: unknown, max: number): boolean {
  const stack: Array<[unknown, number]> = [[value, 1]];
  for (let next = stack.pop(); next !== undefined; next = stack.pop()) {
    const [node, depth] = next;
    if (node === null || typeof node !== 'object') continue;
    if (depth > max) return true;
    for (const child of Array.isArray(node) ? node : Object.values(node)) {
      if (child !== null && typeof child === 'object') stack.push([child, depth + 1]);
    }
  }
  return false;
}
