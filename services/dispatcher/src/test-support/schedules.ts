import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { createLogger, loadConfig, type Config, type Logger } from '@outbound/config';
import {
  createDb,
  createGroup,
  createSchedule,
  type Db,
  type Delivery,
  type Group,
  type Schedule,
  type Send,
} from '@outbound/db';
import {
  closeQueues,
  createQueues,
  createWorkerConnection,
  type Queues,
  type ScheduleTiming,
  scheduleWorkflowId,
  upsertScheduleJobScheduler,
} from '@outbound/queue';
import {
  createTestDatabase,
  createTestRedis,
  testEnv,
  type TestDatabase,
  type TestRedis,
} from '@outbound/test/harness';
import { captureLogs, type LogLine, seedSender, type SeededSender } from './fixtures.ts';

/** One test file's database, Redis prefix, queues and a logger whose lines it keeps. */
export interface ScheduleTestContext {
  database: TestDatabase;
  redis: TestRedis;
  db: Db;
  queues: Queues;
  config: Config;
  logger: Logger;
  logs: LogLine[];
  /** A new pool on the file's database (a dispatcher of its own); closed by `close`. */
  newDb(poolMax?: number): Db;
  close(): Promise<void>;
}

export async function openScheduleTestContext(
  overrides: Record<string, string> = {},
): Promise<ScheduleTestContext> {
  const database = await createTestDatabase();
  const redis = createTestRedis();
  const connection: Redis = createWorkerConnection({ url: redis.url, connectionName: 'schedules' });
  const queues = createQueues({ connection, prefix: redis.prefix });
  const config = loadConfig(testEnv(database, redis, { LOG_LEVEL: 'info', ...overrides }));
  const { destination, lines: logs } = captureLogs();
  const pools: Db[] = [];
  return {
    database,
    redis,
    db: database.db,
    queues,
    config,
    logger: createLogger(config, { name: 'dispatcher', destination }),
    logs,
    newDb(poolMax = 3) {
      const db = createDb({ connectionString: database.url, poolMax });
      pools.push(db);
      return db;
    },
    async close() {
      await Promise.all(pools.map((db) => db.destroy()));
      await closeQueues(queues);
      connection.disconnect();
      await redis.clear();
      await database.drop();
    },
  };
}

export interface SeededSchedule extends SeededSender {
  groups: Group[];
  schedule: Schedule;
  /** The run-schedule job payload of the schedule. */
  ref: { schedule_id: string; organization_id: string };
}

/** An active WhatsApp schedule to `groups` new groups, in a new organization. */
export async function seedSchedule(
  db: Db,
  options: {
    firstRunAt: Date;
    intervalMs: number | null;
    maxOccurrences?: number;
    groups?: number;
    sender?: SeededSender;
  },
): Promise<SeededSchedule> {
  const sender = options.sender ?? (await seedSender(db));
  const groups: Group[] = [];
  for (let i = 0; i < (options.groups ?? 1); i += 1) {
    groups.push(
      await createGroup(db, {
        organizationId: sender.organizationId,
        chatId: `${randomUUID()}@g.us`,
      }),
    );
  }
  const { schedule } = await createSchedule(db, {
    organizationId: sender.organizationId,
    senderId: sender.senderId,
    actorUserId: 'scheduler-test',
    groupIds: groups.map((group) => group.id),
    content: { text: 'Scheduled hello', media: [] },
    firstRunAt: options.firstRunAt,
    intervalMs: options.intervalMs,
    maxOccurrences: options.maxOccurrences ?? (options.intervalMs === null ? 1 : 10),
  });
  return {
    ...sender,
    groups,
    schedule,
    ref: { schedule_id: schedule.id, organization_id: schedule.organization_id },
  };
}

/** What the schedule's job scheduler is built from, as the API and the reconciler pass it. */
export function timingOf(schedule: Schedule): ScheduleTiming {
  if (schedule.next_run_at === null) throw new Error(`schedule ${schedule.id} has no next run`);
  return {
    scheduleId: schedule.id,
    organizationId: schedule.organization_id,
    firstRunAt: schedule.first_run_at,
    intervalMs: schedule.interval_ms,
    nextRunAt: schedule.next_run_at,
  };
}

export async function upsertSchedulerOf(queues: Queues, schedule: Schedule): Promise<void> {
  await upsertScheduleJobScheduler(queues, timingOf(schedule));
}

export function jobSchedulerOf(queues: Queues, scheduleId: string) {
  return queues.scheduler.getJobScheduler(scheduleWorkflowId(scheduleId));
}

export function scheduleRow(db: Db, scheduleId: string): Promise<Schedule> {
  return db
    .selectFrom('schedules')
    .selectAll()
    .where('id', '=', scheduleId)
    .executeTakeFirstOrThrow();
}

/** The sends a schedule made, by occurrence. */
export function occurrenceSends(db: Db, scheduleId: string): Promise<Send[]> {
  return db
    .selectFrom('sends')
    .selectAll()
    .where('schedule_id', '=', scheduleId)
    .orderBy('occurrence')
    .execute();
}

export function deliveriesOfSends(db: Db, sendIds: readonly string[]): Promise<Delivery[]> {
  if (sendIds.length === 0) return Promise.resolve([]);
  return db
    .selectFrom('deliveries')
    .selectAll()
    .where('send_id', 'in', [...sendIds])
    .orderBy('id')
    .execute();
}

/** Moves a schedule's clock: its first run and next run, as if it had been created earlier. */
export async function setScheduleTimes(
  db: Db,
  scheduleId: string,
  times: { firstRunAt?: Date; nextRunAt: Date | null; occurrencesMade?: number },
): Promise<Schedule> {
  return db
    .updateTable('schedules')
    .set({
      ...(times.firstRunAt === undefined ? {} : { first_run_at: times.firstRunAt }),
      ...(times.occurrencesMade === undefined ? {} : { occurrences_made: times.occurrencesMade }),
      next_run_at: times.nextRunAt,
    })
    .where('id', '=', scheduleId)
    .returningAll()
    .executeTakeFirstOrThrow();
}
