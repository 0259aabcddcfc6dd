import Joi from 'joi';
import { AppError } from '../errors';
import { cursorDate, cursorId, decodeCursor, decodeIdCursor, encodeCursor, paginate } from './cursor';

const rows = (n: number) => Array.from({ length: n }, (_, i) => ({ id: 100 - i }));

describe('paginate', () => {
  it('gives the next cursor only when the extra row came back, keyed by the last item kept', () => {
    expect(paginate(rows(3), 3, (r) => ({ id: r.id }))).toEqual({ items: rows(3), nextCursor: null });
    const page = paginate(rows(4), 3, (r) => ({ id: r.id }));
    expect(page.items).toEqual(rows(3));
    expect(decodeIdCursor(page.nextCursor!)).toBe(98);
    expect(paginate([], 3, (r: { id: number }) => ({ id: r.id }))).toEqual({ items: [], nextCursor: null });
  });

  it('takes another encoding where the contract fixes the cursor (chat history: the id itself)', () => {
    expect(paginate(rows(3), 2, (r) => r.id, String).nextCursor).toBe('99');
  });
});

describe('cursor codec', () => {
  const key = Joi.object({ at: cursorDate, id: cursorId });

  it('round-trips a key, converting its date back', () => {
    const at = new Date('2026-05-01T10:00:00.123Z');
    expect(decodeCursor(encodeCursor({ at: at.toISOString(), id: 7 }), key)).toEqual({ at, id: 7 });
  });

  it.each([
    ['not base64 JSON', 'bm90LWpzb24'],
    ['a missing part', encodeCursor({ id: 7 })],
    ['an extra part', encodeCursor({ at: '2026-05-01T10:00:00Z', id: 7, x: 1 })],
    ['an id out of range', encodeCursor({ at: '2026-05-01T10:00:00Z', id: 2 ** 32 })],
    ['a date DATETIME cannot hold', encodeCursor({ at: '0001-01-01T00:00:00Z', id: 7 })],
  ])('refuses %s as VALIDATION_FAILED (400) on query.cursor', (_what, cursor) => {
    let thrown: unknown;
    try {
      decodeCursor(cursor, key);
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(AppError);
    expect((thrown as AppError).code).toBe('VALIDATION_FAILED');
    expect((thrown as AppError).errors?.[0].path).toBe('query.cursor');
  });

  it('reads no id cursor as the first page', () => {
    expect(decodeIdCursor(undefined)).toBeUndefined();
  });
});
