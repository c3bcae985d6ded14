import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestRedis, type TestRedis } from '@outbound/test/harness';
import { createWorkerConnection } from './connections.ts';
import {
  SWEEPER_SCHEDULER_ID,
  WEBHOOK_RELAY_SCHEDULER_ID,
  WEBHOOK_SWEEPER_SCHEDULER_ID,
} from './job-catalog.ts';
import {
  firstFiringAt,
  listScheduleJobSchedulers,
  ONE_SHOT_EVERY_MS,
  POLL_DUE_SCHEDULER_ID,
  removeScheduleJobScheduler,
  scheduleIdOfJobScheduler,
  upsertFixedJobSchedulers,
  upsertScheduleJobScheduler,
  type ScheduleTiming,
} from './job-schedulers.ts';
import { scheduleWorkflowId } from './queue-names.ts';
import { closeQueues, createQueues, type Queues } from './queues.ts';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

function timing(overrides: Partial<ScheduleTiming> = {}): ScheduleTiming {
  const firstRunAt = overrides.firstRunAt ?? new Date(Date.now() + HOUR);
  return {
    scheduleId: randomUUID(),
    organizationId: randomUUID(),
    firstRunAt,
    intervalMs: MINUTE,
    nextRunAt: firstRunAt,
    ...overrides,
  };
}

describe('firstFiringAt', () => {
  const now = 1_700_000_000_000;
  const first = new Date(now - 10 * MINUTE - 7_000);

  it('is the next run while that is still ahead, repeating or not', () => {
    const ahead = new Date(now + 1);
    expect(firstFiringAt(timing({ firstRunAt: first, nextRunAt: ahead }), now)).toBe(now + 1);
    expect(
      firstFiringAt(timing({ firstRunAt: ahead, nextRunAt: ahead, intervalMs: null }), now),
    ).toBe(now + 1);
  });

  it('fires a due one-shot now', () => {
    const due = new Date(now - 5 * MINUTE);
    expect(firstFiringAt(timing({ firstRunAt: due, nextRunAt: due, intervalMs: null }), now)).toBe(
      now,
    );
    const exactlyNow = new Date(now);
    expect(
      firstFiringAt(
        timing({ firstRunAt: exactlyNow, nextRunAt: exactlyNow, intervalMs: null }),
        now,
      ),
    ).toBe(now);
  });

  it('starts a due repeating schedule at its next future slot on the grid of its first run', () => {
    const overdue = timing({ firstRunAt: first, nextRunAt: new Date(first.getTime() + MINUTE) });
    const at = firstFiringAt(overdue, now);
    expect(at).toBe(first.getTime() + 11 * MINUTE);
    expect(at).toBeGreaterThan(now);
    expect(at - now).toBeLessThanOrEqual(MINUTE);
    // Due exactly now: that slot is the poller's, the scheduler starts at the one after.
    const onSlot = timing({
      firstRunAt: first,
      nextRunAt: new Date(first.getTime() + 11 * MINUTE),
    });
    expect(firstFiringAt(onSlot, first.getTime() + 11 * MINUTE)).toBe(
      first.getTime() + 12 * MINUTE,
    );
  });
});

describe('scheduleIdOfJobScheduler', () => {
  it('reads the schedule id back from its workflow id, and nothing from other schedulers', () => {
    const id = randomUUID();
    expect(scheduleWorkflowId(id)).toBe(`outbound:text-send-schedule:${id}`);
    expect(scheduleIdOfJobScheduler(scheduleWorkflowId(id))).toBe(id);
    expect(scheduleIdOfJobScheduler(POLL_DUE_SCHEDULER_ID)).toBeUndefined();
    expect(scheduleIdOfJobScheduler(SWEEPER_SCHEDULER_ID)).toBeUndefined();
    expect(scheduleIdOfJobScheduler(`x${scheduleWorkflowId(id)}`)).toBeUndefined();
  });
});

describe('schedule job schedulers (real Redis)', () => {
  let redis: TestRedis;
  let connection: Redis;
  let queues: Queues;

  beforeAll(() => {
    redis = createTestRedis();
    connection = createWorkerConnection({ url: redis.url, connectionName: 'job-schedulers-test' });
    queues = createQueues({ connection, prefix: redis.prefix });
  });
  afterAll(async () => {
    await closeQueues(queues);
    connection.disconnect();
    await redis.clear();
  });

  const schedulerOf = (scheduleId: string) =>
    queues.scheduler.getJobScheduler(scheduleWorkflowId(scheduleId));

  it('creates a repeating scheduler at the next run, firing run-schedule every interval', async () => {
    const schedule = timing();
    await upsertScheduleJobScheduler(queues, schedule);

    const scheduler = await schedulerOf(schedule.scheduleId);
    expect(scheduler).toMatchObject({
      key: scheduleWorkflowId(schedule.scheduleId),
      name: 'run-schedule',
      every: MINUTE,
      next: schedule.nextRunAt.getTime(),
      template: {
        data: { schedule_id: schedule.scheduleId, organization_id: schedule.organizationId },
      },
    });
    expect(scheduler?.limit).toBeUndefined();
    const jobId = `repeat:${scheduleWorkflowId(schedule.scheduleId)}:${schedule.nextRunAt.getTime()}`;
    expect(await queues.scheduler.getJobState(jobId)).toBe('delayed');
  });

  it('makes a one-shot a scheduler limited to one job', async () => {
    const schedule = timing({ intervalMs: null });
    await upsertScheduleJobScheduler(queues, schedule);
    expect(await schedulerOf(schedule.scheduleId)).toMatchObject({
      every: ONE_SHOT_EVERY_MS,
      limit: 1,
      next: schedule.nextRunAt.getTime(),
    });
  });

  it('fires a due one-shot at once, and starts an overdue repeating one on its grid', async () => {
    const due = new Date(Date.now() - 10 * MINUTE);
    const oneShot = timing({ firstRunAt: due, nextRunAt: due, intervalMs: null });
    const before = Date.now();
    await upsertScheduleJobScheduler(queues, oneShot);
    const fired = await schedulerOf(oneShot.scheduleId);
    expect(fired?.next).toBeGreaterThanOrEqual(before);
    expect(fired!.next!).toBeLessThanOrEqual(Date.now());
    const jobId = `repeat:${scheduleWorkflowId(oneShot.scheduleId)}:${fired!.next}`;
    expect(await queues.scheduler.getJobState(jobId)).toBe('waiting');

    const first = new Date(Date.now() - 3 * HOUR - 17_000);
    const repeating = timing({ firstRunAt: first, nextRunAt: first, intervalMs: HOUR });
    const now = Date.now();
    await upsertScheduleJobScheduler(queues, repeating, now);
    const next = (await schedulerOf(repeating.scheduleId))?.next;
    expect(next).toBe(first.getTime() + 4 * HOUR);
  });

  it('keeps the next time of a scheduler it already has', async () => {
    const schedule = timing();
    await upsertScheduleJobScheduler(queues, schedule);
    const later = new Date(schedule.nextRunAt.getTime() + 7 * MINUTE);
    await upsertScheduleJobScheduler(queues, { ...schedule, nextRunAt: later });
    await upsertScheduleJobScheduler(queues, { ...schedule, nextRunAt: later });

    expect((await schedulerOf(schedule.scheduleId))?.next).toBe(schedule.nextRunAt.getTime());
    const jobs = await queues.scheduler.getDelayed();
    expect(
      jobs.filter((job) => job.repeatJobKey === scheduleWorkflowId(schedule.scheduleId)),
    ).toHaveLength(1);
  });

  it('removes a scheduler and its next job; a second removal finds nothing', async () => {
    const schedule = timing();
    await upsertScheduleJobScheduler(queues, schedule);
    const jobId = `repeat:${scheduleWorkflowId(schedule.scheduleId)}:${schedule.nextRunAt.getTime()}`;
    expect(await queues.scheduler.getJobState(jobId)).toBe('delayed');

    expect(await removeScheduleJobScheduler(queues, schedule.scheduleId)).toBe(true);
    expect(await schedulerOf(schedule.scheduleId)).toBeUndefined();
    expect(await queues.scheduler.getJobState(jobId)).toBe('unknown');
    expect(await removeScheduleJobScheduler(queues, schedule.scheduleId)).toBe(false);
  });

  it('lists every schedule scheduler across pages, and no other scheduler', async () => {
    await redis.clear();
    await upsertFixedJobSchedulers(queues, {
      pollEveryMs: 1_000,
      sweepEveryMs: 5_000,
      relayWebhooksEveryMs: 500,
    });
    const schedules = Array.from({ length: 5 }, (_, i) =>
      timing({ firstRunAt: new Date(Date.now() + HOUR + i * MINUTE) }),
    );
    for (const schedule of schedules) await upsertScheduleJobScheduler(queues, schedule);

    const listed = await listScheduleJobSchedulers(queues, 2);
    expect(listed.sort((a, b) => a.scheduleId.localeCompare(b.scheduleId))).toEqual(
      schedules
        .map((schedule) => ({
          scheduleId: schedule.scheduleId,
          nextAt: schedule.nextRunAt.getTime(),
        }))
        .sort((a, b) => a.scheduleId.localeCompare(b.scheduleId)),
    );
    expect(await listScheduleJobSchedulers(queues, 1_000)).toHaveLength(schedules.length);
  });

  it('upserts the shared fixed schedulers once, with the latest intervals', async () => {
    await redis.clear();
    await upsertFixedJobSchedulers(queues, {
      pollEveryMs: 1_000,
      sweepEveryMs: 5_000,
      relayWebhooksEveryMs: 500,
    });
    await upsertFixedJobSchedulers(queues, {
      pollEveryMs: 2_000,
      sweepEveryMs: 6_000,
      relayWebhooksEveryMs: 700,
    });

    const schedulers = await queues.scheduler.getJobSchedulers();
    expect(
      schedulers
        .map(({ key, name, every }) => ({ key, name, every }))
        .sort((a, b) => a.key.localeCompare(b.key)),
    ).toEqual([
      { key: POLL_DUE_SCHEDULER_ID, name: 'poll-due', every: 2_000 },
      { key: SWEEPER_SCHEDULER_ID, name: 'sweep', every: 6_000 },
      { key: WEBHOOK_RELAY_SCHEDULER_ID, name: 'relay-webhooks', every: 700 },
      { key: WEBHOOK_SWEEPER_SCHEDULER_ID, name: 'sweep-webhooks', every: 6_000 },
    ]);
    expect(await listScheduleJobSchedulers(queues)).toEqual([]);
  });
});
