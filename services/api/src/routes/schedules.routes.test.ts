import {
  closeQueues,
  createQueues,
  JOBS,
  ONE_SHOT_EVERY_MS,
  scheduleWorkflowId,
  type Queues,
} from '@outbound/queue';
import { createTestDatabase, createTestRedis, type TestDatabase } from '@outbound/test/harness';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readError } from '../test-support/error-body.ts';
import {
  seedGroups,
  seedOrganization,
  seedSession,
  type SeededOrganization,
} from '../test-support/seed.ts';
import { startTestApp, type TestApp } from '../test-support/test-app.ts';
import { scheduleResponseSchema, type ScheduleResponse } from './schedules.schema.ts';
import { scheduleAcceptedSchema, type ScheduleAccepted } from './sends.schema.ts';

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;

const redis = createTestRedis();
let database: TestDatabase;
let api: TestApp;
/** Reads Redis on its own connection, so what the tests see is what Redis holds. */
let readerConnection: Redis;
let reader: Queues;
let acme: SeededOrganization;
let other: SeededOrganization;
let sessionId: string;
let groupIds: string[];
let keyCounter = 0;

beforeAll(async () => {
  database = await createTestDatabase();
  api = await startTestApp(database, redis);
  readerConnection = new Redis(redis.url, { maxRetriesPerRequest: 1 });
  reader = createQueues({ connection: readerConnection, prefix: redis.prefix });
  acme = await seedOrganization(database.db, 'acme');
  other = await seedOrganization(database.db, 'other');
  sessionId = await seedSession(database.db, acme.organizationId);
  groupIds = await seedGroups(database.db, acme.organizationId, [sessionId], 2);
});

afterAll(async () => {
  await closeQueues(reader);
  readerConnection.disconnect();
  await api.stop();
  await database.drop();
  await redis.clear();
});

function postSend(body: unknown): Promise<Response> {
  return fetch(`${api.url}/v2/outbound/sends`, {
    method: 'POST',
    headers: { ...acme.headers, 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });
}

function scheduledSend(schedule: Record<string, unknown>): Record<string, unknown> {
  keyCounter += 1;
  return {
    session_id: sessionId,
    group_ids: groupIds,
    idempotency_key: `schedule-${keyCounter}`,
    text: 'Good morning',
    schedule,
  };
}

async function acceptedSchedule(response: Response): Promise<ScheduleAccepted> {
  if (response.status !== 202) expect(await response.text()).toBe('a 202');
  return scheduleAcceptedSchema.strict().parse(await response.json());
}

/** A daily schedule whose first run is an hour ahead. */
async function createDailySchedule(): Promise<ScheduleAccepted['schedule']> {
  const firstRun = Date.now() + HOUR_MS;
  const body = scheduledSend({
    first_run_at_ms: firstRun,
    interval_ms: DAY_MS,
    max_occurrences: 3,
  });
  return (await acceptedSchedule(await postSend(body))).schedule;
}

function getSchedule(scheduleId: string, org: SeededOrganization = acme): Promise<Response> {
  return fetch(`${api.url}/v2/outbound/schedules/${scheduleId}`, { headers: org.headers });
}

async function shownSchedule(response: Response): Promise<ScheduleResponse['schedule']> {
  if (response.status !== 200) expect(await response.text()).toBe('a 200');
  const shown = scheduleResponseSchema.strict().parse(await response.json());
  expect(shown.request_id).toBe(response.headers.get('x-request-id'));
  return shown.schedule;
}

async function countRows(table: 'sends' | 'deliveries' | 'schedules'): Promise<number> {
  const row = await database.db
    .selectFrom(table)
    .select((eb) => eb.fn.countAll<string>().as('n'))
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

async function eventTypes(scheduleId: string): Promise<string[]> {
  const rows = await database.db
    .selectFrom('events')
    .select('type')
    .where('schedule_id', '=', scheduleId)
    .orderBy('id')
    .execute();
  return rows.map((row) => row.type);
}

describe('POST /v2/outbound/sends with a schedule', () => {
  it('answers 202 with the schedule object the reference shows, and creates no send', async () => {
    const before = { sends: await countRows('sends'), deliveries: await countRows('deliveries') };
    const firstRun = Date.now() + HOUR_MS;
    const response = await postSend(
      scheduledSend({ first_run_at_ms: firstRun, interval_ms: DAY_MS, max_occurrences: 5 }),
    );
    const accepted = await acceptedSchedule(response);
    const scheduleId = accepted.schedule.schedule_id;
    expect(accepted).toEqual({
      status: 'accepted',
      request_id: response.headers.get('x-request-id'),
      schedule: {
        status: 'accepted',
        schedule_id: scheduleId,
        workflow_id: `outbound:text-send-schedule:${scheduleId}`,
        next_run_at_ms: firstRun,
        interval_ms: DAY_MS,
        max_occurrences: 5,
      },
    });
    expect({
      sends: await countRows('sends'),
      deliveries: await countRows('deliveries'),
    }).toEqual(before);
  });

  it('stores an active schedule with its content, groups and session, and its event', async () => {
    const schedule = await createDailySchedule();
    const row = await database.db
      .selectFrom('schedules')
      .selectAll()
      .where('id', '=', schedule.schedule_id)
      .executeTakeFirstOrThrow();
    expect(row).toMatchObject({
      organization_id: acme.organizationId,
      sender_id: sessionId,
      actor_user_id: 'user-acme',
      group_ids: groupIds,
      content: { text: 'Good morning', media: [] },
      interval_ms: DAY_MS,
      max_occurrences: 3,
      occurrences_made: 0,
      status: 'active',
      canceled_at: null,
    });
    expect(row.first_run_at.getTime()).toBe(schedule.next_run_at_ms);
    expect(row.next_run_at?.getTime()).toBe(schedule.next_run_at_ms);
    expect(await eventTypes(schedule.schedule_id)).toEqual(['schedule.created']);
  });

  it('upserts a repeating job scheduler: id = workflow_id, every = interval_ms', async () => {
    const schedule = await createDailySchedule();
    const scheduler = await reader.scheduler.getJobScheduler(schedule.workflow_id);
    expect(scheduler).toMatchObject({
      key: schedule.workflow_id,
      name: JOBS.runSchedule.name,
      every: DAY_MS,
      next: schedule.next_run_at_ms,
      template: {
        data: { schedule_id: schedule.schedule_id, organization_id: acme.organizationId },
      },
    });
    expect(scheduler?.limit).toBeUndefined();
  });

  it('makes a one-shot without interval_ms: one occurrence, a limit-1 job scheduler', async () => {
    const firstRun = Date.now() + HOUR_MS;
    const { schedule } = await acceptedSchedule(
      await postSend(scheduledSend({ first_run_at_ms: firstRun })),
    );
    expect(schedule).toMatchObject({
      next_run_at_ms: firstRun,
      interval_ms: null,
      max_occurrences: 1,
    });
    const scheduler = await reader.scheduler.getJobScheduler(schedule.workflow_id);
    expect(scheduler).toMatchObject({ limit: 1, every: ONE_SHOT_EVERY_MS, next: firstRun });
  });

  it('accepts a first run a little in the past, keeping a repeating schedule on its grid', async () => {
    const firstRun = Date.now() - 1_000;
    const { schedule } = await acceptedSchedule(
      await postSend(scheduledSend({ first_run_at_ms: firstRun, interval_ms: HOUR_MS })),
    );
    expect(schedule.next_run_at_ms).toBe(firstRun);
    // The occurrence due now is the due-work poller's; BullMQ starts at the next slot.
    const scheduler = await reader.scheduler.getJobScheduler(schedule.workflow_id);
    expect(scheduler?.next).toBe(firstRun + HOUR_MS);
  });
});

describe('GET /v2/outbound/schedules/{schedule_id}', () => {
  it('shows the definition, active, with no occurrence made yet', async () => {
    const created = await createDailySchedule();
    const shown = await shownSchedule(await getSchedule(created.schedule_id));
    expect(shown).toEqual({
      schedule_id: created.schedule_id,
      workflow_id: scheduleWorkflowId(created.schedule_id),
      status: 'active',
      session_id: sessionId,
      group_ids: groupIds,
      actor_user_id: 'user-acme',
      text: 'Good morning',
      media: [],
      first_run_at_ms: created.next_run_at_ms,
      interval_ms: DAY_MS,
      max_occurrences: 3,
      occurrences_made: 0,
      next_run_at_ms: created.next_run_at_ms,
      send_ids: [],
      created_at_ms: expect.any(Number) as number,
      updated_at_ms: expect.any(Number) as number,
      canceled_at_ms: null,
    });
  });

  it("answers another organization's schedule with 404, as an unknown one", async () => {
    const created = await createDailySchedule();
    const theirs = await getSchedule(created.schedule_id, other);
    expect(theirs.status).toBe(404);
    expect((await readError(theirs)).error).toMatchObject({
      code: 'not_found',
      message: `schedule ${created.schedule_id} not found`,
    });
    const missing = await getSchedule(crypto.randomUUID());
    expect(missing.status).toBe(404);
  });

  it('refuses an id that is not a uuid with 400 naming it', async () => {
    const response = await getSchedule('not-a-uuid');
    expect(response.status).toBe(400);
    const { error } = await readError(response);
    expect(error.code).toBe('validation_failed');
    expect(error.details).toMatchObject({ issues: [{ location: 'params', path: 'schedule_id' }] });
  });
});
