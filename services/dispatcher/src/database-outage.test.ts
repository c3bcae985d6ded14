import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger, loadConfig } from '@outbound/config';
import { createDb } from '@outbound/db';
import { closeQueues, createQueues, createWorkerConnection, type Queues } from '@outbound/queue';
import {
  createTestDatabase,
  createTestRedis,
  testEnv,
  type TestDatabase,
  type TestRedis,
} from '@outbound/test/harness';
import { startTcpProxy, type TcpProxy } from '@outbound/test/tcp-proxy';
import { createDispatcher, type Dispatcher } from './dispatcher.ts';
import {
  captureLogs,
  createQueuedSend,
  deliveriesOf,
  seedSender,
  testCipher,
  waitFor,
} from './test-support/fixtures.ts';

let database: TestDatabase;
let redis: TestRedis;
let proxy: TcpProxy;
let queues: Queues;
let dispatcher: Dispatcher | undefined;
const producer = () => createWorkerConnection({ url: redis.url, connectionName: 'outage-test' });

beforeAll(async () => {
  database = await createTestDatabase();
  redis = createTestRedis();
  const target = new URL(database.url);
  proxy = await startTcpProxy({ host: target.hostname, port: Number(target.port || 5432) });
  queues = createQueues({ connection: producer(), prefix: redis.prefix });
});

afterAll(async () => {
  await dispatcher?.close();
  await closeQueues(queues);
  await proxy.stop();
  await redis.clear();
  await database.drop();
});

describe('dispatcher while Postgres is unreachable', () => {
  it('pauses its queue without spending attempts, then delivers once Postgres is back', async () => {
    const throughProxy = new URL(database.url);
    throughProxy.hostname = '127.0.0.1';
    throughProxy.port = String(proxy.port);
    const config = loadConfig(
      testEnv(database, redis, { LOG_LEVEL: 'warn', SWEEPER_INTERVAL_MS: '3600000' }),
    );
    const { destination, lines } = captureLogs();
    dispatcher = createDispatcher({
      config,
      logger: createLogger(config, { name: 'dispatcher', destination }),
      db: createDb({
        connectionString: throughProxy.toString(),
        poolMax: 2,
        connectTimeoutMs: 500,
      }),
      connection: createWorkerConnection({ url: redis.url }),
      cipher: testCipher,
    });
    await dispatcher.start();

    await proxy.cut();
    const sender = await seedSender(database.db);
    const send = await createQueuedSend(database.db, queues, sender, ['120363@g.us']);
    const [delivery] = send.deliveries;
    await waitFor(() =>
      Promise.resolve(
        lines.some((line) => line.msg === 'a dependency is unavailable; pausing the queue')
          ? true
          : undefined,
      ),
    );
    const job = await queues.deliveries.getJob(delivery!.id);
    expect(job?.attemptsMade).toBe(0);
    expect(await job?.getState()).not.toBe('failed');

    await proxy.restore();
    const [sent] = await waitFor(async () => {
      const rows = await deliveriesOf(database.db, send.send.id);
      return rows[0]?.status === 'sent' ? rows : undefined;
    });
    expect(sent).toMatchObject({ status: 'sent', attempts: 1, possible_duplicate: false });
  });
});
