export {
  createDispatcher,
  type Dispatcher,
  type DispatcherDeps,
  type DispatcherStatus,
} from './dispatcher.ts';
export {
  DISPATCHER_HTTP_PATHS,
  startHttpListener,
  type HttpListener,
  type HttpListenerOptions,
} from './http-listener.ts';
export {
  createDispatcherMetrics,
  DISPATCHER_PROCESS_METRICS_PREFIX,
  type DispatcherMetrics,
  type DispatcherMetricsOptions,
} from './metrics.ts';
export { type AdapterFactory } from './adapter-factory.ts';
export { placeholderJobHandlers, type JobHandler, type JobHandlers } from './job-handlers.ts';
export { type SweepResult, type Sweeper } from './sweep.job.ts';
export { createSandboxOutbox } from './sandbox-outbox.ts';
