export { QUEUE_NAMES, scheduleWorkflowId, type QueueName } from './queue-names.ts';
export {
  DEFAULT_JOB_OPTIONS,
  JOBS,
  parsePayload,
  type JobKey,
  type JobPayload,
} from './job-catalog.ts';
export {
  assertNoEviction,
  createProducerConnection,
  createWorkerConnection,
  pingRedis,
  RedisPolicyError,
  type RedisConnectionOptions,
} from './connections.ts';
export {
  closeQueues,
  createQueues,
  enqueue,
  enqueueDeliveries,
  type Queues,
  type QueuesOptions,
} from './queues.ts';
