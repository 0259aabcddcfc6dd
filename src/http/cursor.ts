import type Joi from 'joi';
import { ValidationFailed } from '../errors';

/** Cursors are opaque to clients: base64url JSON of the last item's sort key and id. */
export const encodeCursor = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');

export const invalidCursor = () =>
  ValidationFailed('Invalid request: query.cursor is not a cursor of this list', [
    { path: 'query.cursor', message: 'invalid cursor' },
  ]);

/** Decodes and validates a cursor (it is client input); anything else is a 400 on `query.cursor`. */
export function decodeCursor<T>(cursor: string, schema: Joi.ObjectSchema): T {
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
