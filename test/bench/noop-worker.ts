// The baseline: a bare BullMQ worker whose jobs do nothing, run as its own process like a
// dispatcher. Env: REDIS_URL, QUEUE_PREFIX, QUEUE_NAME, CONCURRENCY. Prints "ready" when listening.
import { Worker } from 'bullmq';
import { Redis } from 'ioredis';

const connection = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', {
  maxRetriesPerRequest: null,
});
const worker = new Worker(process.env.QUEUE_NAME ?? 'noop', () => Promise.resolve(), {
  connection,
  prefix: process.env.QUEUE_PREFIX ?? 'bench',
  concurrency: Number(process.env.CONCURRENCY ?? 16),
  removeOnComplete: { count: 1_000 },
});
await worker.waitUntilReady();
process.stdout.write('ready\n');
process.on('SIGTERM', () => {
  void worker
    .close()
    .then(() => connection.quit())
    .then(() => process.exit(0));
});
