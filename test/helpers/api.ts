import { QueryTypes } from 'sequelize';
import { bearer, type TestInstance } from './context';
import type { Session } from './fixtures';

/**
 * Signed-in calls under /api/v1 and COUNT(*) queries against one instance. The instance is a getter
 * because test files start theirs in beforeAll, after this runs at load time.
 */
export function apiOf(inst: () => TestInstance) {
  const auth = (s: Session) => bearer(s.accessToken);
  const v1 = (p: string) => `/api/v1${p}`;
  return {
    auth,
    get: (s: Session, p: string) => inst().http.get(v1(p)).set(auth(s)),
    post: (s: Session, p: string, body: object = {}) => inst().http.post(v1(p)).set(auth(s)).send(body),
    put: (s: Session, p: string) => inst().http.put(v1(p)).set(auth(s)),
    patch: (s: Session, p: string, body: object = {}) => inst().http.patch(v1(p)).set(auth(s)).send(body),
    del: (s: Session, p: string) => inst().http.delete(v1(p)).set(auth(s)),
    /** The `n` column of the first row, as a number (`SELECT COUNT(*) AS n ...`). */
    count: async (sql: string, replacements: unknown[] = []) =>
      Number((await inst().sequelize.query<{ n: number }>(sql, { replacements, type: QueryTypes.SELECT }))[0].n),
  };
}

/** The `path` of each problem+json error, to assert which fields a 400 names. */
export const errorPaths = (res: { body: { errors?: { path: string }[] } }) =>
  (res.body.errors ?? []).map((e) => e.path);
