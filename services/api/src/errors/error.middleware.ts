import type { ErrorRequestHandler, RequestHandler } from 'express';
import type { Logger } from '@outbound/config';
import { redactApiKeys } from '../http/access-log.middleware.ts';
import { getRequestId } from '../http/request-id.middleware.ts';
import type { ErrorResponse } from './error-response.schema.ts';
import { AppError } from './app-error.ts';
import { toAppError } from './to-app-error.ts';

/** Turns a request no route matched into a `not_found` error for the error middleware. */
export function notFound(): RequestHandler {
  return (req) => {
    // A key pasted into a path (by mistake) is not echoed back where logs and proxies keep it.
    throw AppError.of('not_found', `No route for ${req.method} ${redactApiKeys(req.path)}`);
  };
}

/**
 * The one error middleware: renders every failure as
 * `{"error":{"code","message","details"},"request_id"}`. Unexpected errors are logged with an
 * `error_id` the client also gets; their message and stack never reach the client.
 */
export function errorHandler(fallbackLogger: Logger): ErrorRequestHandler {
  return (error: unknown, req, res, next) => {
    if (res.headersSent) {
      // Too late for an error body: let Express end the connection.
      next(error);
      return;
    }
    const appError = toAppError(error);
    const log = (req.log as Logger | undefined) ?? fallbackLogger;
    if (appError.code === 'internal_error') {
      log.error({ err: error, error_id: appError.details?.error_id }, 'unhandled error');
    } else if (appError.code === 'service_unavailable' && appError !== error) {
      // A raw failure of Postgres or Redis (a deliberate AppError was explained where thrown).
      log.warn({ err: error }, 'dependency unavailable');
    }
    if (appError.code === 'unauthorized' && !res.hasHeader('WWW-Authenticate')) {
      res.setHeader('WWW-Authenticate', 'Bearer realm="outbound"');
    }
    const body: ErrorResponse = {
      error: { code: appError.code, message: appError.message, details: appError.details },
      request_id: getRequestId(res),
    };
    res.status(appError.status).json(body);
  };
}
