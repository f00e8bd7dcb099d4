/** One page of a list, newest first; nextCursor is null on the last page. */
export interface Page<T> {
  data: T[];
  nextCursor: string | null;
}

/** Which page of a list to read. */
export interface PageRequest {
  limit: number;
  /** Id of the last item of the previous page; lists run newest first. */
  cursor?: string | undefined;
}
