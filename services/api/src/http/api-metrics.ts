import { collectDefaultMetrics, Histogram, Registry } from 'prom-client';

/** Prefix of the Node.js process metrics (CPU, memory, event loop, GC) of an API process. */
export const API_PROCESS_METRICS_PREFIX = 'outbound_api_';

export type HttpLabel = 'method' | 'route' | 'status_code';

/**
 * The API's metrics, in a registry of their own (never prom-client's global one), so each app
 * and each test sees only what it observed. `/metrics` renders `registry`.
 */
export interface ApiMetrics {
  readonly registry: Registry;
  /**
   * Time from a request's arrival to its answer's last byte (or the client going away), by
   * method, declared route template (`/v2/outbound/sends/{send_id}`; `unmatched` when no
   * route answered) and status code (`499` when the client left before the answer ended).
   */
  readonly httpRequestDuration: Histogram<HttpLabel>;
}

export interface ApiMetricsOptions {
  /** Also collect the process metrics (prefixed `outbound_api_`); true by default. */
  processMetrics?: boolean;
}

export function createApiMetrics(options: ApiMetricsOptions = {}): ApiMetrics {
  const registry = new Registry();
  if (options.processMetrics ?? true) {
    collectDefaultMetrics({ register: registry, prefix: API_PROCESS_METRICS_PREFIX });
  }
  const httpRequestDuration = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'HTTP request duration by method, declared route template and status code',
    labelNames: ['method', 'route', 'status_code'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  return { registry, httpRequestDuration };
}
