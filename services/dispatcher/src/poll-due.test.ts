import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DueSource } from './due-source.ts';
import { createDuePoller } from './poll-due.job.ts';
import { createScheduleRunner, type ScheduleRunner } from './run-schedule.job.ts';
import { seedSender, type SeededSender } from './test-support/fixtures.ts';
import {
  deliveriesOfSends,
  openScheduleTestContext,
  scheduleRow,
  seedSchedule,
  setScheduleTimes,
  type ScheduleTestContext,
} from './test-support/schedules.ts';

const HOUR = 3_600_000;

let ctx: ScheduleTestContext;
let runner: ScheduleRunner;
let sender: SeededSender;

beforeAll(async () => {
  ctx = await openScheduleTestContext();
  runner = createScheduleRunner({ db: ctx.db, queues: ctx.queues, logger: ctx.logger });
  sender = await seedSender(ctx.db);
});
afterAll(async () => {
  await ctx?.close();
});

/** `count` hourly schedules of one sender, each due for a while already. */
async function dueSchedules(count: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < count; i += 1) {
    const { schedule } = await seedSchedule(ctx.db, {
      firstRunAt: new Date(Date.now() - HOUR / 2 - i * 1_000),
      intervalMs: HOUR,
      sender,
    });
    ids.push(schedule.id);
  }
  return ids;
}

async function stillDue(): Promise<number> {
  const row = await ctx.db
    .selectFrom('schedules')
    .select((eb) => eb.fn.countAll<number>().as('count'))
    .where('status', '=', 'active')
    .where('next_run_at', '<=', new Date())
    .executeTakeFirstOrThrow();
  return Number(row.count);
}

/** Sends per schedule among `ids`, by occurrence: `{ [scheduleId]: [occurrences…] }`. */
async function occurrencesBySchedule(ids: readonly string[]): Promise<Map<string, number[]>> {
  const rows = await ctx.db
    .selectFrom('sends')
    .select(['schedule_id', 'occurrence'])
    .where('schedule_id', 'in', [...ids])
    .orderBy('occurrence')
    .execute();
  const found = new Map<string, number[]>();
  for (const row of rows) {
    found.set(row.schedule_id!, [...(found.get(row.schedule_id!) ?? []), row.occurrence!]);
  }
  return found;
}

const errorLogs = () => ctx.logs.filter((line) => line.level >= 50);

describe('due-work poller with the schedules source', () => {
  it('fires each of 300 due schedules exactly once across three concurrent pollers', async () => {
    const ids = await dueSchedules(300);
    const pollers = [0, 1, 2].map(() => {
      const own = createScheduleRunner({
        db: ctx.newDb(3),
        queues: ctx.queues,
        logger: ctx.logger,
      });
      return createDuePoller({
        sources: [own.dueSource],
        queues: ctx.queues,
        logger: ctx.logger,
        batchSize: 20,
        maxBatches: 100,
      });
    });

    const results = await Promise.all(pollers.map((poller) => poller.poll()));
    // Each schedule was claimed once in all: a double claim would count it twice.
    expect(results.reduce((sum, result) => sum + (result.schedules ?? 0), 0)).toBe(300);
    expect(errorLogs()).toEqual([]);

    const made = await occurrencesBySchedule(ids);
    expect(made.size).toBe(300);
    for (const id of ids) expect(made.get(id)).toEqual([1]);
    expect(await stillDue()).toBe(0);
    const rows = await ctx.db
      .selectFrom('schedules')
      .select(['occurrences_made', 'next_run_at', 'first_run_at'])
      .where('id', 'in', ids)
      .execute();
    for (const row of rows) {
      expect(row.occurrences_made).toBe(1);
      expect(row.next_run_at!.getTime()).toBe(row.first_run_at.getTime() + HOUR);
    }

    // Every delivery made was enqueued after commit, once (job id = delivery id).
    const sends = await ctx.db
      .selectFrom('sends')
      .select('id')
      .where('schedule_id', 'in', ids)
      .execute();
    const deliveries = await deliveriesOfSends(
      ctx.db,
      sends.map((send) => send.id),
    );
    expect(deliveries).toHaveLength(300);
    const states = await Promise.all(
      deliveries.map((delivery) => ctx.queues.deliveries.getJobState(delivery.id)),
    );
    expect(states.filter((state) => state !== 'waiting')).toEqual([]);

    // A second round finds nothing due.
    const again = await Promise.all(pollers.map((poller) => poller.poll()));
    expect(again).toEqual([{ schedules: 0 }, { schedules: 0 }, { schedules: 0 }]);
  });

  it('keeps claiming batches while they come back full, up to maxBatches per poll', async () => {
    const ids = await dueSchedules(35);
    const poller = createDuePoller({
      sources: [runner.dueSource],
      queues: ctx.queues,
      logger: ctx.logger,
      batchSize: 10,
    });
    expect(await poller.poll()).toEqual({ schedules: 35 });
    expect([...(await occurrencesBySchedule(ids)).values()].flat()).toEqual(ids.map(() => 1));
    expect(await stillDue()).toBe(0);

    const more = await dueSchedules(12);
    const bounded = createDuePoller({
      sources: [runner.dueSource],
      queues: ctx.queues,
      logger: ctx.logger,
      batchSize: 5,
      maxBatches: 2,
    });
    expect(await bounded.poll()).toEqual({ schedules: 10 });
    expect(await stillDue()).toBe(2);
    expect(await bounded.poll()).toEqual({ schedules: 2 });
    expect(await stillDue()).toBe(0);
    expect((await occurrencesBySchedule(more)).size).toBe(12);
  });

  it('runs the other sources when one fails, and logs a failed follow-up', async () => {
    const ids = await dueSchedules(2);
    const failing: DueSource = {
      name: 'failing',
      claimDue: () => Promise.reject(new Error('source down')),
    };
    const followUpFails: DueSource = {
      name: 'follow-up-fails',
      claimDue: () =>
        Promise.resolve({
          claimed: 0,
          deliveries: [],
          afterCommit: () => Promise.reject(new Error('follow-up down')),
        }),
    };
    const poller = createDuePoller({
      sources: [failing, runner.dueSource, followUpFails],
      queues: ctx.queues,
      logger: ctx.logger,
    });

    expect(await poller.poll()).toEqual({ failing: 0, schedules: 2, 'follow-up-fails': 0 });
    expect((await occurrencesBySchedule(ids)).size).toBe(2);
    expect(
      ctx.logs.find((line) => line.msg === 'due source failed; retried next poll'),
    ).toMatchObject({ level: 50, source: 'failing', err: { message: 'source down' } });
    expect(ctx.logs.find((line) => line.msg === 'due source follow-up failed')).toMatchObject({
      level: 40,
      source: 'follow-up-fails',
    });
  });

  it('fires the rest of a batch when one schedule cannot fire, and retries that one later', async () => {
    const ids = await dueSchedules(4);
    const bad = ids[1]!;
    // A damaged row: active and due with every occurrence made, so counting one more breaks
    // the table's CHECK (occurrences_made <= max_occurrences) in Postgres.
    await setScheduleTimes(ctx.db, bad, {
      nextRunAt: new Date(Date.now() - HOUR),
      occurrencesMade: 10,
    });
    const poller = createDuePoller({
      sources: [runner.dueSource],
      queues: ctx.queues,
      logger: ctx.logger,
    });

    expect(await poller.poll()).toEqual({ schedules: 4 });
    const made = await occurrencesBySchedule(ids);
    expect(ids.filter((id) => made.has(id))).toEqual(ids.filter((id) => id !== bad));
    // Its savepoint undid the occurrence it had begun, and nothing else.
    expect(await scheduleRow(ctx.db, bad)).toMatchObject({
      status: 'active',
      occurrences_made: 10,
    });
    // Put off by a minute, so the next batches reach the schedules behind it.
    expect(await stillDue()).toBe(0);
    const postponed = (await scheduleRow(ctx.db, bad)).next_run_at!.getTime();
    expect(postponed).toBeGreaterThan(Date.now() + 50_000);
    expect(
      ctx.logs.find((line) => line.msg === 'schedule occurrence failed; retried later'),
    ).toMatchObject({ level: 50, schedule_id: bad, retry_in_ms: 60_000 });

    // Repaired, it fires at the next poll.
    await setScheduleTimes(ctx.db, bad, {
      nextRunAt: new Date(Date.now() - HOUR),
      occurrencesMade: 0,
    });
    expect(await poller.poll()).toEqual({ schedules: 1 });
    expect((await occurrencesBySchedule([bad])).get(bad)).toEqual([1]);
    expect(await stillDue()).toBe(0);
  });
});
