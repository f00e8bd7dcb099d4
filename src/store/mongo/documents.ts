import type { FilterQuery, Model } from 'mongoose';
import type { Page, PageRequest } from '../../core/page';

/** A document as mongoose's lean() returns it. */
export type Doc = Record<string, unknown>;

/** One page of `filter`, newest id first, after the cursor (the id of the previous page's last item). */
export async function findPage<T extends { id: string }>(model: Model<Doc>, filter: Doc, page: PageRequest, map: (doc: Doc) => T): Promise<Page<T>> {
  const query: FilterQuery<Doc> = page.cursor === undefined ? filter : { ...filter, _id: belowCursor(filter['_id'], page.cursor) };
  const docs = await model.find(query).sort({ _id: -1 }).limit(page.limit + 1).lean<Doc[]>();
  const data = docs.slice(0, page.limit).map(map);
  const last = data[data.length - 1];
  return { data, nextCursor: docs.length > page.limit && last ? last.id : null };
}

/** The filter's own _id range (if any) narrowed to ids below the cursor. */
function belowCursor(range: unknown, cursor: string): Doc {
  const own = range !== null && typeof range === 'object' ? (range as Doc) : {};
  const upper = typeof own['$lt'] === 'string' && own['$lt'] < cursor ? own['$lt'] : cursor;
  return { ...own, $lt: upper };
}

/**
 * Inserts a document under a unique id: true when this insert took the id,
 * false when it was taken. Every MongoDB-protocol server makes this atomic,
 * which is why claims of any kind are made this way.
 */
export async function insertOnce(model: Model<Doc>, doc: Doc): Promise<boolean> {
  try {
    await model.collection.insertOne(doc as never);
    return true;
  } catch (err) {
    if ((err as { code?: number }).code === 11000) return false;
    throw err;
  }
}

/** Unordered insertMany that skips rows already stored (a batch retried after a partial failure); other failures throw. */
export async function insertManySkippingDuplicates(model: Model<Doc>, docs: Doc[]): Promise<Array<{ code?: number; index?: number }>> {
  try {
    await model.collection.insertMany(docs as never[], { ordered: false });
    return [];
  } catch (err) {
    if (!onlyDuplicateKeys(err)) throw err;
    return writeErrorsOf(err);
  }
}

/**
 * True when an unordered insertMany failed only on ids that already exist (rows
 * a retried batch had stored before). A network error can arrive as a bulk
 * error with no write errors at all: that is a failure, not a duplicate.
 */
function onlyDuplicateKeys(err: unknown): boolean {
  const list = writeErrorsOf(err);
  if (list.length > 0) return list.every((e) => e.code === 11000);
  return (err as { code?: number }).code === 11000;
}

function writeErrorsOf(err: unknown): Array<{ code?: number; index?: number }> {
  const { writeErrors } = err as { writeErrors?: Array<{ code?: number; index?: number }> | { code?: number; index?: number } };
  return Array.isArray(writeErrors) ? writeErrors : writeErrors ? [writeErrors] : [];
}


/** A stored date, or null when the field is absent or null. */
export const dateOrNull = (value: unknown): Date | null => (value instanceof Date ? value : null);

/** A stored text, or null when the field is absent or null. */
export const textOrNull = (value: unknown): string | null => (value === undefined || value === null ? null : String(value));
