export { createDispatcher, type Dispatcher, type DispatcherDeps } from './dispatcher.ts';
export { placeholderJobHandlers, type JobHandler, type JobHandlers } from './job-handlers.ts';
export { createSandboxOutbox } from './sandbox-outbox.ts';
