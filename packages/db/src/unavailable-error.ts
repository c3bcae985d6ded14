/** Socket-level failures: the dependency is down or unreachable, not the request at fault. */
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'EPIPE',
]);

/** Postgres SQLSTATEs meaning "try again later": connection exceptions, shutdown, too many clients. */
const POSTGRES_UNAVAILABLE = /^(08...|57P0[1-3]|53300)$/;

/** Messages of pg-pool / pg / ioredis failures that carry no code. */
const UNAVAILABLE_MESSAGES = [
  /timeout exceeded when trying to connect/i,
  /connection terminated/i,
  /stream isn't writeable/i,
  /connection is closed/i,
  // pg, on a client whose connection died (e.g. the ROLLBACK after a query lost mid-transaction).
  /is not queryable/i,
];

/**
 * True when `error` (or one of its causes) says Postgres or Redis could not be reached, so the
 * request deserves a 503 rather than a 500.
 */
export function isDependencyUnavailable(error: unknown): boolean {
  let current: unknown = error;
  for (let depth = 0; current instanceof Error && depth < 5; depth += 1) {
    const { message } = current;
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && (NETWORK_CODES.has(code) || POSTGRES_UNAVAILABLE.test(code))) {
      return true;
    }
    if (UNAVAILABLE_MESSAGES.some((pattern) => pattern.test(message))) return true;
    current = current.cause;
  }
  return false;
}
