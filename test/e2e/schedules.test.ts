import { setTimeout as sleep } from 'node:timers/promises';
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  closeQueues,
  createQueues,
  createWorkerConnection,
  scheduleWorkflowId,
  type Queues,
} from '@outbound/queue';
import {
  createTestDatabase,
  createTestRedis,
  testEnv,
  type TestDatabase,
  type TestRedis,
} from '../support/harness.ts';
import { seedSandboxFixture, type SandboxFixture } from '../support/sandbox-fixture.ts';
import type { ServiceProcess } from '../support/service-process.ts';
import { waitFor } from '../support/wait-for.ts';
import { startDispatcher, startStack, type Stack } from '../support/stack.ts';

interface ScheduleView {
  schedule_id: string;
  status: string;
  occurrences_made: number;
  next_run_at_ms: number | null;
  send_ids: string[];
}

/**
 * Scheduled sends through the API and three dispatcher processes to the sandbox. Times are
 * checked for order (never early), not for speed: the due-lag benchmark measures lateness.
 */
describe('scheduled sends, end to end', { timeout: 60_000 }, () => {
  let database: TestDatabase;
  let redis: TestRedis;
  let stack: Stack | undefined;
  const dispatchers: ServiceProcess[] = [];
  let fixture: SandboxFixture;
  let connection: Redis;
  let queues: Queues;

  beforeAll(async () => {
    database = await createTestDatabase();
    redis = createTestRedis();
    const env = testEnv(database, redis, {
      HOST: '127.0.0.1',
      LOG_LEVEL: 'info',
      RECONCILE_INTERVAL_MS: '1000',
      DISPATCHER_CONCURRENCY: '16',
    });
    stack = await startStack(env);
    dispatchers.push(stack.dispatcher, await startDispatcher(env), await startDispatcher(env));
    fixture = await seedSandboxFixture(database.db, { name: 'schedules-e2e', groups: 2 });
    connection = createWorkerConnection({ url: redis.url, connectionName: 'schedules-e2e' });
    queues = createQueues({ connection, prefix: redis.prefix });
  }, 60_000);

  afterAll(async () => {
    await Promise.all([
      stack?.api.stop('SIGKILL'),
      ...dispatchers.map((dispatcher) => dispatcher.stop('SIGKILL')),
    ]);
    await closeQueues(queues);
    connection.disconnect();
    await redis.clear();
    await database.drop();
  });

  async function schedule(
    timing: { first_run_at_ms: number; interval_ms?: number; max_occurrences?: number },
    groupIds: string[] = fixture.groupIds,
  ): Promise<string> {
    const response = await fetch(`${stack!.url}/v2/outbound/sends`, {
      method: 'POST',
      headers: fixture.headers,
      body: JSON.stringify({
        session_id: fixture.sessionId,
        group_ids: groupIds,
        idempotency_key: randomUUID(),
        text: 'scheduled hello',
        schedule: timing,
      }),
    });
    const body = (await response.json()) as { schedule?: { schedule_id: string } };
    if (response.status !== 202 || body.schedule === undefined) {
      throw new Error(`POST answered ${response.status}: ${JSON.stringify(body)}`);
    }
    return body.schedule.schedule_id;
  }

  async function readSchedule(scheduleId: string): Promise<ScheduleView> {
    const response = await fetch(`${stack!.url}/v2/outbound/schedules/${scheduleId}`, {
      headers: fixture.headers,
    });
    expect(response.status).toBe(200);
    return ((await response.json()) as { schedule: ScheduleView }).schedule;
  }

  /** Deliveries of the schedule's sends, with what the sandbox received for each. */
  async function deliveriesOf(scheduleId: string) {
    return database.db
      .selectFrom('deliveries')
      .innerJoin('sends', 'sends.id', 'deliveries.send_id')
      .select((eb) => [
        'deliveries.id',
        'deliveries.status',
        'deliveries.error_code',
        'deliveries.attempts',
        'deliveries.sent_at',
        'sends.occurrence',
        'sends.planned_at',
        eb
          .selectFrom('sandbox_messages')
          .select((inner) => inner.fn.countAll<string>().as('n'))
          .whereRef('sandbox_messages.delivery_id', '=', 'deliveries.id')
          .as('received'),
      ])
      .where('sends.schedule_id', '=', scheduleId)
      .orderBy('sends.occurrence')
      .execute();
  }

  it('delivers a one-shot send scheduled 3 s ahead to every group once, not early', async () => {
    const due = Date.now() + 3_000;
    const scheduleId = await schedule({ first_run_at_ms: due });

    const done = await waitFor(async () => {
      const view = await readSchedule(scheduleId);
      const deliveries = await deliveriesOf(scheduleId);
      return view.status === 'completed' && deliveries.every((d) => d.status === 'sent')
        ? { view, deliveries }
        : undefined;
    });
    expect(done.view).toMatchObject({ occurrences_made: 1, next_run_at_ms: null });
    expect(done.view.send_ids).toHaveLength(1);
    expect(done.deliveries).toHaveLength(fixture.groupIds.length);
    for (const delivery of done.deliveries) {
      expect(Number(delivery.received)).toBe(1);
      expect(delivery.planned_at.getTime()).toBe(due);
      expect(delivery.sent_at!.getTime()).toBeGreaterThanOrEqual(due);
    }
  });

  it('makes exactly three sends of a repeating schedule, then reports it completed', async () => {
    const first = Date.now() + 1_000;
    const scheduleId = await schedule({
      first_run_at_ms: first,
      interval_ms: 1_500,
      max_occurrences: 3,
    });

    const view = await waitFor(async () => {
      const current = await readSchedule(scheduleId);
      return current.status === 'completed' ? current : undefined;
    });
    expect(view).toMatchObject({ occurrences_made: 3, next_run_at_ms: null });
    expect(view.send_ids).toHaveLength(3);
    const deliveries = await waitFor(async () => {
      const rows = await deliveriesOf(scheduleId);
      return rows.every((row) => row.status === 'sent') ? rows : undefined;
    });
    expect(deliveries.map((row) => row.occurrence)).toEqual([1, 1, 2, 2, 3, 3]);
    expect(deliveries.every((row) => Number(row.received) === 1)).toBe(true);
    expect(await jobSchedulerExists(scheduleId)).toBe(false);
  });

  it('stops a repeating schedule canceled after its first occurrence', async () => {
    const interval = 1_500;
    const scheduleId = await schedule({
      first_run_at_ms: Date.now() + 500,
      interval_ms: interval,
      max_occurrences: 10,
    });
    await waitFor(async () =>
      (await readSchedule(scheduleId)).occurrences_made >= 1 ? true : undefined,
    );

    const canceled = await fetch(`${stack!.url}/v2/outbound/schedules/${scheduleId}`, {
      method: 'DELETE',
      headers: fixture.headers,
    });
    expect(canceled.status).toBe(200);
    const made = ((await canceled.json()) as { schedule: ScheduleView }).schedule.occurrences_made;

    // Two more slots pass: a schedule still firing would have made another occurrence by then.
    await sleep(2 * interval + 500);
    const view = await readSchedule(scheduleId);
    expect(view).toMatchObject({
      status: 'canceled',
      occurrences_made: made,
      next_run_at_ms: null,
    });
    expect(view.send_ids).toHaveLength(made);
    expect(await jobSchedulerExists(scheduleId)).toBe(false);
  });

  it('fails the deliveries of an occurrence whose session stopped, without retrying', async () => {
    const scheduleId = await schedule({ first_run_at_ms: Date.now() + 1_500 });
    await database.db
      .updateTable('senders')
      .set({ status: 'STOPPED' })
      .where('id', '=', fixture.sessionId)
      .execute();
    try {
      const deliveries = await waitFor(async () => {
        const rows = await deliveriesOf(scheduleId);
        return rows.length > 0 && rows.every((row) => row.status === 'failed') ? rows : undefined;
      });
      for (const delivery of deliveries) {
        expect(delivery).toMatchObject({ error_code: 'sender_not_working', attempts: 1 });
        expect(Number(delivery.received)).toBe(0);
      }
    } finally {
      await database.db
        .updateTable('senders')
        .set({ status: 'WORKING' })
        .where('id', '=', fixture.sessionId)
        .execute();
    }
  });

  it('heals after Redis loses every key: each occurrence is made once, and the schedule completes', async () => {
    const scheduleId = await schedule({
      first_run_at_ms: Date.now() + 500,
      interval_ms: 1_500,
      max_occurrences: 4,
    });
    await waitFor(async () =>
      (await readSchedule(scheduleId)).occurrences_made >= 1 ? true : undefined,
    );

    // What FLUSHALL does to Outbound, without touching the keys of other test files.
    await redis.clear();
    expect(await jobSchedulerExists(scheduleId)).toBe(false);

    const view = await waitFor(async () => {
      const current = await readSchedule(scheduleId);
      return current.status === 'completed' ? current : undefined;
    }, 30_000);
    expect(view.send_ids).toHaveLength(4);
    const deliveries = await waitFor(async () => {
      const rows = await deliveriesOf(scheduleId);
      return rows.every((row) => row.status === 'sent') ? rows : undefined;
    });
    expect(deliveries.map((row) => row.occurrence)).toEqual([1, 1, 2, 2, 3, 3, 4, 4]);
    expect(deliveries.every((row) => Number(row.received) === 1)).toBe(true);
  });

  it('sends each of 500 one-shot sends due within the same second exactly once', async () => {
    const single = [fixture.groupIds[0]!];
    // Far enough ahead that all 500 are created before the first comes due (the API accepts a
    // first run up to 5 s past), even when the suite's other files load the machine: creating
    // them has taken over 20 s then, against about 5 s alone.
    const due = Date.now() + 25_000;
    const ids: string[] = [];
    let next = 0;
    const post = async (): Promise<void> => {
      while (next < 500) {
        const offset = next;
        next += 1;
        ids.push(await schedule({ first_run_at_ms: due + offset }, single));
      }
    };
    await Promise.all(Array.from({ length: 8 }, post));

    const rows = await waitFor(async () => {
      const found = await database.db
        .selectFrom('deliveries')
        .innerJoin('sends', 'sends.id', 'deliveries.send_id')
        .select(['sends.schedule_id', 'deliveries.id', 'deliveries.status'])
        .where('sends.schedule_id', 'in', ids)
        .execute();
      return found.length === 500 && found.every((row) => row.status === 'sent')
        ? found
        : undefined;
    }, 60_000);
    expect(new Set(rows.map((row) => row.schedule_id)).size).toBe(500);

    const received = await database.db
      .selectFrom('sandbox_messages')
      .select(['delivery_id'])
      .where(
        'delivery_id',
        'in',
        rows.map((row) => row.id),
      )
      .execute();
    expect(received).toHaveLength(500);
    expect(new Set(received.map((row) => row.delivery_id)).size).toBe(500);
  }, 120_000);

  async function jobSchedulerExists(scheduleId: string): Promise<boolean> {
    const schedulers = await queues.scheduler.getJobSchedulers(0, -1);
    return schedulers.some((scheduler) => scheduler.key === scheduleWorkflowId(scheduleId));
  }
});
