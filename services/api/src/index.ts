export { createApp, ADMIN_QUEUES_PATH, type AppDeps, type AppOptions } from './app.ts';
export { startServer, type RunningServer, type StartServerOptions } from './server.ts';
export { defineRoute, type Route, type RouteSpec, type RouteHandler } from './routing/route.ts';
export { AppError } from './errors/app-error.ts';
export type { ErrorCode } from './errors/error-codes.ts';
export type { AdminAuth } from './admin/basic-auth.middleware.ts';
export {
  API_PROCESS_METRICS_PREFIX,
  createApiMetrics,
  type ApiMetrics,
  type ApiMetricsOptions,
} from './http/api-metrics.ts';
