import type { RequestHandler, Response } from 'express';
import type { ApiMetrics } from './api-metrics.ts';

/** The `route` label of a request no declared route (or labelled mount) answered. */
export const UNMATCHED_ROUTE = 'unmatched';

/** Status recorded when the client went away before the answer was complete (nginx's). */
const CLIENT_CLOSED = '499';

const ROUTE_LOCAL = 'metricsRoute';

/**
 * Names the route that answers this request in the metrics: a template, never the raw URL
 * (which holds ids, and whatever a caller puts in it). The routing layer runs it first on every
 * declared route; mounted apps (Bull Board, the docs assets) run it with their mount path.
 */
export function labelRoute(template: string): RequestHandler {
  return (_req, res, next) => {
    (res.locals as Record<string, unknown>)[ROUTE_LOCAL] = template;
    next();
  };
}

function routeOf(res: Response): string {
  const route = (res.locals as Record<string, unknown>)[ROUTE_LOCAL];
  return typeof route === 'string' ? route : UNMATCHED_ROUTE;
}

/** Observes every request's duration into `http_request_duration_seconds` once it is over. */
export function requestMetrics(metrics: ApiMetrics): RequestHandler {
  return (req, res, next) => {
    const stop = metrics.httpRequestDuration.startTimer();
    res.once('close', () => {
      stop({
        method: req.method,
        route: routeOf(res),
        status_code: res.writableFinished ? String(res.statusCode) : CLIENT_CLOSED,
      });
    });
    next();
  };
}
