export { QUEUE_NAMES, scheduleWorkflowId, type QueueName } from './queue-names.ts';
export {
  DEFAULT_JOB_OPTIONS,
  DELIVERY_BACKOFF_TYPE,
  DELIVERY_JOB_ATTEMPTS,
  JOBS,
  SWEEPER_SCHEDULER_ID,
  WEBHOOK_BACKOFF_TYPE,
  WEBHOOK_JOB_ATTEMPTS,
  WEBHOOK_RELAY_SCHEDULER_ID,
  WEBHOOK_SWEEPER_SCHEDULER_ID,
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
  enqueueWebhookDeliveries,
  type Queues,
  type QueuesOptions,
} from './queues.ts';
export {
  firstFiringAt,
  listScheduleJobSchedulers,
  ONE_SHOT_EVERY_MS,
  POLL_DUE_SCHEDULER_ID,
  removeScheduleJobScheduler,
  scheduleIdOfJobScheduler,
  upsertFixedJobSchedulers,
  upsertScheduleJobScheduler,
  wakePollerAt,
  type FixedJobSchedulerIntervals,
  type ScheduleJobScheduler,
  type ScheduleTiming,
} from './job-schedulers.ts';
export { nextSlotAfter } from './schedule-slots.ts';
export {
  createRateLimiter,
  type RateLimiter,
  type RateLimiterOptions,
  type Reservation,
  type ReserveOptions,
} from './rate-limiter.ts';
