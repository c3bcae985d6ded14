import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cancelSchedule, createSend } from '@outbound/db';
import { upsertScheduleJobScheduler } from '@outbound/queue';
import { createScheduleRunner, type ScheduleRunner } from './run-schedule.job.ts';
import {
  deliveriesOfSends,
  jobSchedulerOf,
  occurrenceSends,
  openScheduleTestContext,
  scheduleRow,
  seedSchedule,
  upsertSchedulerOf,
  type ScheduleTestContext,
} from './test-support/schedules.ts';

const HOUR = 3_600_000;

let ctx: ScheduleTestContext;
let runner: ScheduleRunner;

beforeAll(async () => {
  ctx = await openScheduleTestContext();
  runner = createScheduleRunner({ db: ctx.db, queues: ctx.queues, logger: ctx.logger });
});
afterAll(async () => {
  await ctx?.close();
});

/** A repeating schedule (hourly) whose first run was a second ago. */
function dueHourly(groups = 1) {
  return seedSchedule(ctx.db, {
    firstRunAt: new Date(Date.now() - 1_000),
    intervalMs: HOUR,
    maxOccurrences: 3,
    groups,
  });
}

describe('schedule runner: run-schedule jobs', () => {
  it('fires occurrence 1 as a send with a queued delivery per group, and enqueues each', async () => {
    const seeded = await dueHourly(3);
    const { schedule } = seeded;
    await upsertSchedulerOf(ctx.queues, schedule);

    const fired = await runner.run(seeded.ref);
    expect(fired).toMatchObject({
      scheduleId: schedule.id,
      organizationId: seeded.organizationId,
      occurrence: 1,
      nextRunAt: new Date(schedule.first_run_at.getTime() + HOUR),
      completed: false,
    });

    const sends = await occurrenceSends(ctx.db, schedule.id);
    expect(sends).toHaveLength(1);
    expect(sends[0]).toMatchObject({
      id: fired!.sendId,
      organization_id: seeded.organizationId,
      sender_id: seeded.senderId,
      channel: 'whatsapp',
      origin: 'schedule_occurrence',
      actor_user_id: 'scheduler-test',
      content: schedule.content,
      status: 'queued',
      schedule_id: schedule.id,
      occurrence: 1,
      planned_at: schedule.first_run_at,
    });
    const deliveries = await deliveriesOfSends(ctx.db, [fired!.sendId!]);
    expect(deliveries.map((d) => [d.group_id, d.recipient, d.status, d.due_at])).toEqual(
      seeded.groups.map((group) => [group.id, group.chat_id, 'queued', schedule.first_run_at]),
    );
    expect(fired!.deliveries.map((d) => d.delivery_id)).toEqual(deliveries.map((d) => d.id));

    for (const delivery of deliveries) {
      const job = await ctx.queues.deliveries.getJob(delivery.id);
      expect(job?.name).toBe('deliver');
      expect(job?.data).toEqual({
        delivery_id: delivery.id,
        organization_id: seeded.organizationId,
      });
      expect(await job!.getState()).toBe('waiting');
    }

    expect(await scheduleRow(ctx.db, schedule.id)).toMatchObject({
      status: 'active',
      occurrences_made: 1,
      next_run_at: new Date(schedule.first_run_at.getTime() + HOUR),
    });
    // Not the last occurrence: its job scheduler stays.
    expect(await jobSchedulerOf(ctx.queues, schedule.id)).toBeDefined();

    // The same slot fired again (a duplicate job): nothing more is made.
    expect(await runner.run(seeded.ref)).toBeUndefined();
    expect(await occurrenceSends(ctx.db, schedule.id)).toHaveLength(1);
    expect((await scheduleRow(ctx.db, schedule.id)).occurrences_made).toBe(1);
    expect(await jobSchedulerOf(ctx.queues, schedule.id)).toBeDefined();
  });

  it('fires a slot once when two dispatchers run its job at the same moment', async () => {
    const seeded = await dueHourly(2);
    const other = createScheduleRunner({
      db: ctx.newDb(),
      queues: ctx.queues,
      logger: ctx.logger,
    });
    const results = await Promise.all([
      runner.run(seeded.ref),
      other.run(seeded.ref),
      runner.run(seeded.ref),
      other.run(seeded.ref),
    ]);
    expect(results.filter((fired) => fired !== undefined)).toHaveLength(1);
    const sends = await occurrenceSends(ctx.db, seeded.schedule.id);
    expect(sends.map((send) => send.occurrence)).toEqual([1]);
    expect(await deliveriesOfSends(ctx.db, [sends[0]!.id])).toHaveLength(2);
    expect((await scheduleRow(ctx.db, seeded.schedule.id)).occurrences_made).toBe(1);
  });

  it('counts an occurrence that already has its send without making it again', async () => {
    const seeded = await dueHourly();
    // Occurrence 1 committed, but the schedule row was not moved on (e.g. restored from a backup).
    const existing = await createSend(ctx.db, {
      organizationId: seeded.organizationId,
      senderId: seeded.senderId,
      channel: 'whatsapp',
      origin: 'schedule_occurrence',
      content: { text: 'made before', media: [] },
      recipients: [{ recipient: seeded.groups[0]!.chat_id }],
      scheduleId: seeded.schedule.id,
      occurrence: 1,
    });

    const fired = await runner.run(seeded.ref);
    expect(fired).toMatchObject({ occurrence: 1, sendId: undefined, deliveries: [] });
    expect((await occurrenceSends(ctx.db, seeded.schedule.id)).map((s) => s.id)).toEqual([
      existing.send.id,
    ]);
    expect(await scheduleRow(ctx.db, seeded.schedule.id)).toMatchObject({
      occurrences_made: 1,
      next_run_at: new Date(seeded.schedule.first_run_at.getTime() + HOUR),
    });
  });

  it('leaves a schedule that is not due yet, and its job scheduler, alone', async () => {
    const seeded = await seedSchedule(ctx.db, {
      firstRunAt: new Date(Date.now() + HOUR),
      intervalMs: HOUR,
    });
    await upsertSchedulerOf(ctx.queues, seeded.schedule);
    expect(await runner.run(seeded.ref)).toBeUndefined();
    expect(await occurrenceSends(ctx.db, seeded.schedule.id)).toEqual([]);
    expect(await jobSchedulerOf(ctx.queues, seeded.schedule.id)).toBeDefined();
    expect(await scheduleRow(ctx.db, seeded.schedule.id)).toEqual(seeded.schedule);
  });

  it('removes the job scheduler of a canceled or deleted schedule and makes nothing', async () => {
    const seeded = await dueHourly();
    await upsertSchedulerOf(ctx.queues, seeded.schedule);
    await cancelSchedule(ctx.db, seeded.organizationId, seeded.schedule.id);

    expect(await runner.run(seeded.ref)).toBeUndefined();
    expect(await jobSchedulerOf(ctx.queues, seeded.schedule.id)).toBeUndefined();
    expect(await occurrenceSends(ctx.db, seeded.schedule.id)).toEqual([]);

    const ghost = { schedule_id: randomUUID(), organization_id: seeded.organizationId };
    await upsertScheduleJobScheduler(ctx.queues, {
      scheduleId: ghost.schedule_id,
      organizationId: ghost.organization_id,
      firstRunAt: new Date(Date.now() + HOUR),
      intervalMs: HOUR,
      nextRunAt: new Date(Date.now() + HOUR),
    });
    expect(await runner.run(ghost)).toBeUndefined();
    expect(await jobSchedulerOf(ctx.queues, ghost.schedule_id)).toBeUndefined();
  });

  it('does not fire the schedule of another organization named in the job, nor drop it', async () => {
    const seeded = await dueHourly();
    await upsertSchedulerOf(ctx.queues, seeded.schedule);
    const forged = { schedule_id: seeded.schedule.id, organization_id: randomUUID() };
    expect(await runner.run(forged)).toBeUndefined();
    expect(await occurrenceSends(ctx.db, seeded.schedule.id)).toEqual([]);
    expect(await jobSchedulerOf(ctx.queues, seeded.schedule.id)).toBeDefined();
  });

  it('cancels at once an occurrence left with no group at all', async () => {
    const seeded = await dueHourly(2);
    await ctx.db
      .deleteFrom('groups')
      .where(
        'id',
        'in',
        seeded.groups.map((group) => group.id),
      )
      .execute();

    const fired = await runner.run(seeded.ref);
    expect(fired).toMatchObject({ occurrence: 1, deliveries: [] });
    const send = await ctx.db
      .selectFrom('sends')
      .select('status')
      .where('id', '=', fired!.sendId!)
      .executeTakeFirstOrThrow();
    expect(send.status).toBe('canceled');
    const event = await ctx.db
      .selectFrom('events')
      .select(['type', 'payload'])
      .where('send_id', '=', fired!.sendId!)
      .where('type', '=', 'send.canceled')
      .executeTakeFirstOrThrow();
    expect(event.payload).toMatchObject({ reason: 'no_recipients' });
  });

  it('leaves out groups deleted since the schedule was made', async () => {
    const seeded = await dueHourly(3);
    const [kept1, gone, kept2] = seeded.groups;
    await ctx.db.deleteFrom('groups').where('id', '=', gone!.id).execute();

    const fired = await runner.run(seeded.ref);
    const deliveries = await deliveriesOfSends(ctx.db, [fired!.sendId!]);
    expect(deliveries.map((d) => [d.group_id, d.recipient])).toEqual([
      [kept1!.id, kept1!.chat_id],
      [kept2!.id, kept2!.chat_id],
    ]);
    expect(fired!.deliveries).toHaveLength(2);
  });
});
