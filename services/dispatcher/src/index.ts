export { createDispatcher, type Dispatcher, type DispatcherDeps } from './dispatcher.ts';
export { type AdapterFactory } from './adapter-factory.ts';
export { placeholderJobHandlers, type JobHandler, type JobHandlers } from './job-handlers.ts';
export { type SweepResult, type Sweeper } from './sweep.job.ts';
export { createSandboxOutbox } from './sandbox-outbox.ts';
