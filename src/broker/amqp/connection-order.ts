/**
 * The order in which one process tries a cluster's nodes: the list as given,
 * rotated to start at a random node. Processes thus spread their connections
 * over the nodes, and each still walks the whole list in the same cyclic order
 * when the node it is on goes away.
 */
export function connectionOrder<T>(urls: readonly T[], random: () => number = Math.random): T[] {
  if (urls.length <= 1) return [...urls];
  const start = Math.min(urls.length - 1, Math.floor(random() * urls.length));
  return rotate(urls, start);
}

/** The list starting at `start`, wrapping around. */
export function rotate<T>(items: readonly T[], start: number): T[] {
  if (items.length === 0) return [];
  const at = ((start % items.length) + items.length) % items.length;
  return [...items.slice(at), ...items.slice(0, at)];
}
