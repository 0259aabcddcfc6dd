import { toAppError } from '../errors';
import { isUnavailableError } from './unavailable';

/**
 * The plain mysql2 pools (hot reads, chat's group commit) throw the driver's own errors, which
 * Sequelize used to wrap: an unreachable or stopping database must still answer 503, and a duplicate
 * key 409, never 500.
 */
const driverError = (message: string, extra: Record<string, unknown> = {}) => Object.assign(new Error(message), extra);

describe('errors of the plain mysql2 pools', () => {
  it.each([
    ['a refused connection', driverError('connect ECONNREFUSED', { code: 'ECONNREFUSED' })],
    ['a failover name lookup', driverError('getaddrinfo EAI_AGAIN db', { code: 'EAI_AGAIN' })],
    ['an unreachable host', driverError('connect EHOSTUNREACH', { code: 'EHOSTUNREACH' })],
    ['a server at its connection limit', driverError('Too many connections', { code: 'ER_CON_COUNT_ERROR' })],
    ['any fatal driver error', driverError('Connection lost', { code: 'SOMETHING_NEW', fatal: true })],
    ['a pool closed by shutdown', driverError('Pool is closed.')],
    ['a command on a closed connection', driverError("Can't add new command when connection is in closed state")],
  ])('treats %s as UNAVAILABLE (503)', (_what, err) => {
    expect(isUnavailableError(err)).toBe(true);
    expect(toAppError(err).error.code).toBe('UNAVAILABLE');
  });

  it('answers a duplicate key from the driver as CONFLICT, and anything else as INTERNAL', () => {
    expect(toAppError(driverError('Duplicate entry', { errno: 1062, code: 'ER_DUP_ENTRY' })).error.code).toBe(
      'CONFLICT',
    );
    const other = toAppError(driverError('Unknown column', { errno: 1054, code: 'ER_BAD_FIELD_ERROR', fatal: false }));
    expect([other.error.code, other.unexpected]).toEqual(['INTERNAL', true]);
  });
});
