import Joi from 'joi';
import { ValidationFailed } from '../errors';
import { rowId } from './schemas';

/**
 * Cursors are opaque to clients: base64url JSON of the last item's sort key (and id, the tiebreak).
 * Every list encodes and decodes through here and cuts its page with `paginate`, so a cursor is
 * validated like any other input and a bad one is the same 400 everywhere.
 */
export const encodeCursor = (key: object) => Buffer.from(JSON.stringify(key)).toString('base64url');

export const invalidCursor = () =>
  ValidationFailed('Invalid request: query.cursor is not a cursor of this list', [
    { path: 'query.cursor', message: 'invalid cursor' },
  ]);

/** Decodes and validates a cursor (it is client input); anything else is a 400 on `query.cursor`. */
export function decodeCursor<T>(cursor: string, schema: Joi.Schema): T {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw invalidCursor();
  }
  const { error, value: checked } = schema.validate(value, { presence: 'required', convert: true });
  if (error) throw invalidCursor();
  return checked as T;
}

/**
 * Parts of cursor keys. A cursor is client input: its id fits INT UNSIGNED and its date stays within
 * what DATETIME can compare, so a forged one is a 400, never a driver error.
 */
export const cursorId = rowId;
export const cursorDate = Joi.date().iso().min('2000-01-01T00:00:00Z').max('9999-12-31T00:00:00Z');

/** The key of a list ordered by id alone (newest or oldest first). */
export const idCursor = Joi.object({ id: cursorId });
export type IdCursor = { id: number };

/** Decodes an optional id cursor: undefined when the client asked for the first page. */
export const decodeIdCursor = (cursor: string | undefined): number | undefined =>
  cursor ? decodeCursor<IdCursor>(cursor, idCursor).id : undefined;

export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

/**
 * Cuts a page from rows read with `LIMIT limit + 1`: the extra row only says that another page
 * exists, and the cursor is the key of the page's last row. `encode` is for the one list whose
 * cursor the contract fixes (chat history: the message id as a string).
 */
export function paginate<R>(rows: R[], limit: number, keyOf: (last: R) => object): Page<R>;
export function paginate<R, K>(rows: R[], limit: number, keyOf: (last: R) => K, encode: (key: K) => string): Page<R>;
export function paginate<R, K>(
  rows: R[],
  limit: number,
  keyOf: (last: R) => K,
  encode: (key: K) => string = encodeCursor as (key: K) => string,
): Page<R> {
  const items = rows.slice(0, limit);
  const more = rows.length > limit && items.length > 0;
  return { items, nextCursor: more ? encode(keyOf(items[items.length - 1])) : null };
}
