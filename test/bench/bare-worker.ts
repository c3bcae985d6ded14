// The baselines: a bare BullMQ worker run as its own process like a dispatcher. With
// PROVIDER_URL each job POSTs one WAHA `sendText` there through a keep-alive undici Pool and
// reads the answer (baseline A); without it, jobs do nothing (baseline B). Nothing else: no
// Postgres, no rate limit, no logging per job.
//
// Env: REDIS_URL, QUEUE_PREFIX, QUEUE_NAME, CONCURRENCY, PROVIDER_URL. Prints {"msg":"ready"}
// once listening, and on SIGTERM closes and prints {"msg":"stopped", jobs, first_started_at,
// last_finished_at, lags} (epoch ms; `lags`: finish − `due_at` of each job whose data has one).
import { type Job, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { Pool } from 'undici';

const concurrency = Number(process.env.CONCURRENCY ?? 16);
const providerUrl = process.env.PROVIDER_URL;
const pool =
  providerUrl === undefined ? undefined : new Pool(providerUrl, { connections: concurrency });
const body = JSON.stringify({ session: 'default', chatId: 'bench-0@g.us', text: 'benchmark' });

let jobs = 0;
let firstStartedAt = 0;
let lastFinishedAt = 0;
const lags: number[] = [];

async function post(): Promise<void> {
  const response = await pool!.request({
    method: 'POST',
    path: '/api/sendText',
    headers: { 'content-type': 'application/json', accept: 'application/json' },
    body,
  });
  const answer = await response.body.text();
  if (response.statusCode !== 201) throw new Error(`provider answered ${response.statusCode}`);
  JSON.parse(answer);
}

const connection = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', {
  maxRetriesPerRequest: null,
});
const worker = new Worker(
  process.env.QUEUE_NAME ?? 'noop',
  async (job: Job<{ due_at?: number }>) => {
    if (firstStartedAt === 0) firstStartedAt = Date.now();
    if (pool !== undefined) await post();
    jobs += 1;
    lastFinishedAt = Date.now();
    if (job.data.due_at !== undefined) lags.push(lastFinishedAt - job.data.due_at);
  },
  {
    connection,
    prefix: process.env.QUEUE_PREFIX ?? 'bench',
    concurrency,
    removeOnComplete: { count: 1_000 },
  },
);
worker.on('error', (error) => process.stderr.write(`worker error: ${String(error)}\n`));
await worker.waitUntilReady();
process.stdout.write(`${JSON.stringify({ msg: 'ready' })}\n`);
process.on('SIGTERM', () => {
  void (async () => {
    await worker.close();
    await pool?.close();
    await connection.quit();
    const stats = {
      msg: 'stopped',
      jobs,
      first_started_at: firstStartedAt,
      last_finished_at: lastFinishedAt,
      lags,
    };
    process.stdout.write(`${JSON.stringify(stats)}\n`, () => process.exit(0));
  })();
});
