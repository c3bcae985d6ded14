import type { envSchema } from './env.schema.ts';

/**
 * One line per environment variable, for the configuration table in README.md (written by
 * `pnpm docs:config`). Typed by the schema: a variable added there without a line here does
 * not compile.
 */
export const ENV_DESCRIPTIONS: Readonly<Record<keyof typeof envSchema.shape, string>> = {
  NODE_ENV: 'Production requires `CREDENTIALS_ENCRYPTION_KEY`.',
  LOG_LEVEL: 'Lowest level logged.',
  LOG_FORMAT: '`auto`: pretty in a terminal, JSON lines otherwise.',
  DATABASE_URL: 'PostgreSQL, the source of truth; the database is created on start if missing.',
  DATABASE_POOL_MAX: 'PostgreSQL connections per process.',
  MIGRATE_ON_START: 'Apply pending migrations when the API, dispatcher or CLI starts.',
  REDIS_URL: 'Redis for the queues; must run with `maxmemory-policy noeviction` (AOF on).',
  QUEUE_PREFIX: 'Key prefix of every queue and counter; lets deployments share one Redis.',
  HOST: "Address the API and the dispatcher's metrics and health listener listen on.",
  PORT: 'Port the API listens on.',
  JSON_BODY_LIMIT: 'Largest JSON request body, e.g. `512kb` or `1mb`.',
  SHUTDOWN_TIMEOUT_MS:
    'How long a stopping process waits for in-flight requests (API) or jobs (dispatcher).',
  API_RATE_LIMIT_REQUESTS:
    'Requests per API key per window, across all API processes (Redis); past it 429. `0`: off.',
  API_RATE_LIMIT_WINDOW_SECONDS: 'Length of the rate-limit window.',
  ADMIN_USERNAME: 'Bull Board (`/admin/queues`) basic-auth user; set both or neither.',
  ADMIN_PASSWORD: 'Bull Board basic-auth password; without both the board refuses everyone.',
  CREDENTIALS_ENCRYPTION_KEY:
    '32 random bytes, base64 (`openssl rand -base64 32`); seals sender credentials. ' +
    'A fixed development key when unset outside production.',
  PUBLIC_BASE_URL: 'Where providers fetch the media Outbound serves (signed links).',
  MEDIA_MAX_BYTES: 'Largest media file, uploaded or fetched.',
  MEDIA_MAX_FILES: 'Most media files per send.',
  MEDIA_FETCH_TIMEOUT_MS: "How long fetching a caller's media URL may take.",
  MEDIA_FETCH_ALLOW_HOSTS:
    'Comma-separated hosts exempt from the private-address check (development and tests only).',
  MEDIA_FETCH_ALLOW_HTTP: 'Allow plain-http media URLs (never in production).',
  EMAIL_MAX_ATTACHMENT_BYTES: "Largest total size of one email draft's attachments (decoded).",
  IDEMPOTENCY_TTL_HOURS: 'How long idempotency keys are remembered.',
  DISPATCHER_CONCURRENCY: 'Jobs one dispatcher process works on at once.',
  DISPATCHER_METRICS_PORT:
    "Port of a dispatcher's own HTTP listener (`/metrics`, `/healthz`, `/readyz`); `0`: any free port.",
  DELIVERY_MAX_ATTEMPTS: 'Provider calls per delivery before it fails.',
  DELIVERY_BACKOFF_MS: "First retry's delay; it doubles, with jitter.",
  ADAPTER_TIMEOUT_MS: 'A provider call taking longer counts as a retryable timeout.',
  SWEEPER_INTERVAL_MS: 'How often the sweeper re-drives lost or stuck deliveries.',
  SWEEPER_QUEUED_AFTER_MS: 'A delivery queued this long with no live job gets a new one.',
  WORKER_LOCK_DURATION_MS:
    "BullMQ job lock; a dead worker's job runs again after it. With `ADAPTER_TIMEOUT_MS`, " +
    'the longest a delivery can take.',
  WORKER_STALLED_INTERVAL_MS: 'How often BullMQ looks for stalled jobs.',
  WORKER_MAX_STALLED_COUNT:
    'Stalls a job survives before BullMQ fails it (the sweeper re-drives it).',
  POLL_INTERVAL_MS: 'How often dispatchers look for due drafts and schedules.',
  RECONCILE_INTERVAL_MS:
    'How often dispatchers reconcile schedules with their BullMQ job schedulers.',
  SCHEDULE_MIN_INTERVAL_MS: 'Smallest `interval_ms` of a schedule.',
  SCHEDULE_MAX_INTERVAL_MS: 'Largest `interval_ms` of a schedule (366 days).',
  SCHEDULE_MAX_OCCURRENCES: 'Largest `max_occurrences` of a schedule.',
  WEBHOOK_RELAY_INTERVAL_MS:
    'How often dispatchers turn new events into webhook deliveries (the outbox relay).',
  WEBHOOK_CONCURRENCY: 'Webhook calls one dispatcher process makes at once.',
  WEBHOOK_TIMEOUT_MS: 'A webhook call taking longer counts as failed and is retried.',
  WEBHOOK_MAX_ATTEMPTS:
    'Calls per webhook delivery before it fails; with the backoff defaults they span 24 h.',
  WEBHOOK_BACKOFF_MS: "First webhook retry's delay; it doubles, plus up to 20 % jitter.",
  WEBHOOK_BACKOFF_MAX_MS: 'No webhook retry waits longer than this (plus jitter).',
  WEBHOOK_ORDER_WAIT_MS:
    'How long a webhook event waits for an earlier pending event of the same send and endpoint.',
  WEBHOOK_ALLOW_HOSTS:
    'Comma-separated webhook hosts exempt from the private-address check (tests only; ' +
    'refused in production).',
  WEBHOOK_ALLOW_HTTP: 'Allow plain-http webhook URLs (tests only; refused in production).',
};
