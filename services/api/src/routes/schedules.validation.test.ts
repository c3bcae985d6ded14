import { createTestDatabase, createTestRedis, type TestDatabase } from '@outbound/test/harness';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readError } from '../test-support/error-body.ts';
import {
  seedGroups,
  seedOrganization,
  seedSession,
  type SeededOrganization,
} from '../test-support/seed.ts';
import { startTestApp, type TestApp } from '../test-support/test-app.ts';
import { scheduleAcceptedSchema, type ScheduleAccepted } from './sends.schema.ts';

/** Bounds set for this file, so both sides of each are cheap to reach. */
const MIN_INTERVAL_MS = 60_000;
const MAX_INTERVAL_MS = 86_400_000;
const MAX_OCCURRENCES = 10;

const redis = createTestRedis();
let database: TestDatabase;
let api: TestApp;
let acme: SeededOrganization;
let sessionId: string;
let groupIds: string[];
let keyCounter = 0;

beforeAll(async () => {
  database = await createTestDatabase();
  api = await startTestApp(database, redis, {
    env: {
      SCHEDULE_MIN_INTERVAL_MS: String(MIN_INTERVAL_MS),
      SCHEDULE_MAX_INTERVAL_MS: String(MAX_INTERVAL_MS),
      SCHEDULE_MAX_OCCURRENCES: String(MAX_OCCURRENCES),
    },
  });
  acme = await seedOrganization(database.db, 'acme');
  sessionId = await seedSession(database.db, acme.organizationId);
  groupIds = await seedGroups(database.db, acme.organizationId, [sessionId], 2);
});

afterAll(async () => {
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

function nextKey(): string {
  keyCounter += 1;
  return `validation-${keyCounter}`;
}

function scheduledSend(schedule: unknown, key = nextKey()): Record<string, unknown> {
  return { session_id: sessionId, group_ids: groupIds, idempotency_key: key, text: 'hi', schedule };
}

function inAnHour(): number {
  return Date.now() + 3_600_000;
}

async function acceptedSchedule(response: Response): Promise<ScheduleAccepted> {
  if (response.status !== 202) expect(await response.text()).toBe('a 202');
  return scheduleAcceptedSchema.strict().parse(await response.json());
}

/** Everything a POST could create, in Postgres and in Redis. */
async function created(): Promise<Record<string, number>> {
  const count = async (table: 'schedules' | 'sends' | 'events' | 'idempotency_records') =>
    Number(
      (
        await database.db
          .selectFrom(table)
          .select((eb) => eb.fn.countAll<string>().as('n'))
          .executeTakeFirstOrThrow()
      ).n,
    );
  return {
    schedules: await count('schedules'),
    sends: await count('sends'),
    events: await count('events'),
    idempotencyKeys: await count('idempotency_records'),
    jobSchedulers: await api.queues.scheduler.getJobSchedulersCount(),
  };
}

/** Posts, expects 400 `validation_failed`, checks nothing was created; returns the issues. */
async function expectInvalid(body: unknown): Promise<{ message: string; issues: Issue[] }> {
  const before = await created();
  const response = await postSend(body);
  const { error } = await readError(response);
  expect({ status: response.status, code: error.code }).toEqual({
    status: 400,
    code: 'validation_failed',
  });
  expect(await created()).toEqual(before);
  return { message: error.message, issues: (error.details?.issues ?? []) as Issue[] };
}

interface Issue {
  location: string;
  path: string;
  code: string;
}

describe('POST /v2/outbound/sends: schedule validation', () => {
  it('refuses a first run more than 5 s in the past, naming first_run_at_ms', async () => {
    const { issues } = await expectInvalid(
      scheduledSend({ first_run_at_ms: Date.now() - 10_000, interval_ms: MIN_INTERVAL_MS }),
    );
    expect(issues).toMatchObject([
      { location: 'body', path: 'schedule.first_run_at_ms', code: 'in_the_past' },
    ]);
  });

  it.each([
    [
      'interval_ms below the minimum',
      { interval_ms: MIN_INTERVAL_MS - 1 },
      'interval_ms',
      'out_of_range',
    ],
    [
      'interval_ms above the maximum',
      { interval_ms: MAX_INTERVAL_MS + 1 },
      'interval_ms',
      'out_of_range',
    ],
    [
      'max_occurrences above the maximum',
      { interval_ms: MIN_INTERVAL_MS, max_occurrences: MAX_OCCURRENCES + 1 },
      'max_occurrences',
      'too_big',
    ],
    [
      'max_occurrences above 1 without interval_ms',
      { max_occurrences: 2 },
      'max_occurrences',
      'needs_interval',
    ],
  ])('refuses %s, naming it', async (_, fields, field, code) => {
    const { issues } = await expectInvalid(
      scheduledSend({ first_run_at_ms: inAnHour(), ...fields }),
    );
    expect(issues).toMatchObject([{ path: `schedule.${field}`, code }]);
  });

  it('refuses a schedule whose last occurrence would fall after the year 9999', async () => {
    const { issues } = await expectInvalid(
      scheduledSend({
        first_run_at_ms: Date.UTC(9999, 11, 31, 23, 55),
        interval_ms: MIN_INTERVAL_MS,
        max_occurrences: 10,
      }),
    );
    expect(issues).toMatchObject([
      { location: 'body', path: 'schedule.first_run_at_ms', code: 'too_late' },
    ]);
  });

  it('names every field out of bounds at once', async () => {
    const { issues } = await expectInvalid(
      scheduledSend({
        first_run_at_ms: inAnHour(),
        interval_ms: MAX_INTERVAL_MS + 1,
        max_occurrences: MAX_OCCURRENCES + 1,
      }),
    );
    expect(issues.map((issue) => issue.path)).toEqual([
      'schedule.interval_ms',
      'schedule.max_occurrences',
    ]);
  });

  it.each([
    ['max_occurrences 0', { max_occurrences: 0 }, 'schedule.max_occurrences'],
    ['interval_ms 0', { interval_ms: 0 }, 'schedule.interval_ms'],
    ['a negative interval_ms', { interval_ms: -MIN_INTERVAL_MS }, 'schedule.interval_ms'],
    ['a fractional first_run_at_ms', { first_run_at_ms: 1.5 }, 'schedule.first_run_at_ms'],
    [
      'first_run_at_ms as a string',
      { first_run_at_ms: String(inAnHour()) },
      'schedule.first_run_at_ms',
    ],
    ['a fractional interval_ms', { interval_ms: MIN_INTERVAL_MS + 0.5 }, 'schedule.interval_ms'],
    ['a fractional max_occurrences', { max_occurrences: 2.5 }, 'schedule.max_occurrences'],
    ['no first_run_at_ms', { first_run_at_ms: undefined }, 'schedule.first_run_at_ms'],
  ])('refuses %s, naming it', async (_, fields, path) => {
    const { issues } = await expectInvalid(
      scheduledSend({ first_run_at_ms: inAnHour(), interval_ms: MIN_INTERVAL_MS, ...fields }),
    );
    expect(issues.map((issue) => issue.path)).toEqual([path]);
  });

  it('refuses an unknown field inside schedule, naming it', async () => {
    const { message, issues } = await expectInvalid(
      scheduledSend({ first_run_at_ms: inAnHour(), every: MIN_INTERVAL_MS }),
    );
    expect(issues).toMatchObject([{ path: 'schedule', code: 'unrecognized_keys' }]);
    expect(message).toContain('"every"');
  });

  it('accepts each bound itself', async () => {
    for (const schedule of [
      { interval_ms: MIN_INTERVAL_MS, max_occurrences: MAX_OCCURRENCES },
      { interval_ms: MAX_INTERVAL_MS, max_occurrences: 1 },
    ]) {
      const firstRun = inAnHour();
      const accepted = await acceptedSchedule(
        await postSend(scheduledSend({ first_run_at_ms: firstRun, ...schedule })),
      );
      expect(accepted.schedule).toMatchObject({ next_run_at_ms: firstRun, ...schedule });
    }
  });
});

describe('POST /v2/outbound/sends: idempotency of a schedule', () => {
  it('replays the first answer for the same key and body, creating nothing', async () => {
    const body = scheduledSend({ first_run_at_ms: inAnHour(), interval_ms: MIN_INTERVAL_MS });
    const first = await acceptedSchedule(await postSend(body));
    const before = await created();
    const response = await postSend(body);
    const again = await acceptedSchedule(response);
    expect(again).toEqual({
      status: 'duplicate_accepted',
      request_id: response.headers.get('x-request-id'),
      schedule: first.schedule,
    });
    expect(again.request_id).not.toBe(first.request_id);
    expect(response.headers.get('idempotent-replayed')).toBe('true');
    expect(await created()).toEqual(before);
  });

  it.each([
    ['another first run', { first_run_at_ms: 1 }],
    ['another interval', { interval_ms: MIN_INTERVAL_MS * 2 }],
    ['no schedule', undefined],
  ])('answers the same key with %s with 409, creating nothing', async (_, change) => {
    const key = nextKey();
    const schedule = { first_run_at_ms: inAnHour(), interval_ms: MIN_INTERVAL_MS };
    await acceptedSchedule(await postSend(scheduledSend(schedule, key)));
    const before = await created();
    const changed = change === undefined ? undefined : { ...schedule, ...change };
    const response = await postSend(scheduledSend(changed, key));
    expect(response.status).toBe(409);
    expect((await readError(response)).error.code).toBe('idempotency_key_reused');
    expect(await created()).toEqual(before);
  });
});
