import { ConnectionError, TimeoutError } from 'sequelize';

const LOST_CONNECTION_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'PROTOCOL_CONNECTION_LOST',
  'PROTOCOL_SEQUENCE_TIMEOUT',
  'ER_SERVER_SHUTDOWN',
  // Raw mysql2 errors of the plain pools (Sequelize wraps these as ConnectionErrors): a failover's name
  // lookups and unreachable hosts, and a server at its connection limit.
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ER_CON_COUNT_ERROR',
]);

/**
 * True when an error means a backing service (MariaDB, Redis) is unreachable rather than that the
 * request or our code is wrong: those answer 503 UNAVAILABLE so clients retry, never 500.
 */
export function isUnavailableError(err: unknown): boolean {
  if (!err || typeof err !== 'object') return false;
  if (err instanceof ConnectionError || err instanceof TimeoutError) return true;
  const e = err as {
    name?: string;
    message?: string;
    code?: string;
    parent?: { code?: string };
    original?: { code?: string };
    /** mysql2: the connection is unusable after this error. */
    fatal?: boolean;
  };
  const code = e.parent?.code ?? e.original?.code ?? e.code;
  if (code && LOST_CONNECTION_CODES.has(code)) return true;
  if (e.fatal === true) return true;
  if (e.name === 'MaxRetriesPerRequestError') return true;
  const msg = e.message ?? '';
  return (
    msg.includes("Stream isn't writeable") ||
    // mysql2: a pool closed by shutdown, or a connection it closed under a command.
    msg === 'Pool is closed.' ||
    msg === "Can't add new command when connection is in closed state" ||
    msg === 'Connection is closed.' ||
    msg.includes('Redis connection lost') ||
    msg.startsWith('Redis is unavailable') ||
    // Redis Cluster: the client was closed, no node answers, or the cluster is failing over.
    msg === 'Cluster is ended.' ||
    msg.startsWith("Cluster isn't ready") ||
    msg.startsWith('CLUSTERDOWN') ||
    msg.startsWith('TRYAGAIN') ||
    msg.startsWith('Too many Cluster redirections') ||
    msg.startsWith('Failed to refresh slots cache') ||
    msg.startsWith('None of startup nodes is available') ||
    e.name === 'ClusterAllFailedError'
  );
}
