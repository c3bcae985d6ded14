import { sql, type Selectable } from 'kysely';
import { newId } from '@outbound/domain';
import type { SchedulesTable } from '../database.ts';
import { recordEvents } from './events.repository.ts';
import type { Executor } from './executor.ts';

export type Schedule = Selectable<SchedulesTable>;

export interface CreateScheduleOptions {
  organizationId: string;
  senderId: string;
  actorUserId: string;
  groupIds: readonly string[];
  /** What every occurrence sends (for WhatsApp: `whatsappSendContentSchema`). */
  content: Record<string, unknown>;
  firstRunAt: Date;
  /** `null` for a one-shot schedule. */
  intervalMs: number | null;
  maxOccurrences: number;
  requestId?: string | null;
}

/**
 * Writes an `active` schedule whose first run is due at `firstRunAt`, and a `schedule.created`
 * event. Run it inside the caller's transaction; the job scheduler is upserted after commit.
 */
export async function createSchedule(
  db: Executor,
  options: CreateScheduleOptions,
): Promise<{ schedule: Schedule; eventIds: string[] }> {
  const schedule = await db
    .insertInto('schedules')
    .values({
      id: newId(),
      organization_id: options.organizationId,
      sender_id: options.senderId,
      actor_user_id: options.actorUserId,
      group_ids: [...options.groupIds],
      content: JSON.stringify(options.content),
      first_run_at: options.firstRunAt,
      interval_ms: options.intervalMs,
      max_occurrences: options.maxOccurrences,
      next_run_at: options.firstRunAt,
    })
    .returningAll()
    .executeTakeFirstOrThrow();
  const eventIds = await recordEvents(db, [
    {
      organizationId: options.organizationId,
      type: 'schedule.created',
      scheduleId: schedule.id,
      payload: {
        first_run_at_ms: options.firstRunAt.getTime(),
        interval_ms: options.intervalMs,
        max_occurrences: options.maxOccurrences,
        request_id: options.requestId ?? null,
      },
    },
  ]);
  return { schedule, eventIds };
}

/** The schedule of the organization, or undefined (also for another organization's). */
export async function findSchedule(
  db: Executor,
  organizationId: string,
  scheduleId: string,
): Promise<Schedule | undefined> {
  return db
    .selectFrom('schedules')
    .selectAll()
    .where('organization_id', '=', organizationId)
    .where('id', '=', scheduleId)
    .executeTakeFirst();
}

/** One occurrence a schedule has made. */
export interface ScheduleOccurrence {
  occurrence: number;
  send_id: string;
  planned_at: Date;
}

/** The sends a schedule has made, by occurrence number. */
export async function listScheduleOccurrences(
  db: Executor,
  organizationId: string,
  scheduleId: string,
): Promise<ScheduleOccurrence[]> {
  const rows = await db
    .selectFrom('sends')
    .select(['occurrence', 'id', 'planned_at'])
    .where('organization_id', '=', organizationId)
    .where('schedule_id', '=', scheduleId)
    .orderBy('occurrence')
    .execute();
  return rows.map((row) => ({
    occurrence: row.occurrence ?? 0,
    send_id: row.id,
    planned_at: row.planned_at,
  }));
}

/**
 * Locks the schedule (`FOR UPDATE SKIP LOCKED`) if it is active and due at `now`, for the
 * caller's transaction; undefined when it is not due, not active, or locked by someone else
 * (who is firing it).
 */
export async function claimDueSchedule(
  db: Executor,
  options: { organizationId: string; scheduleId: string; now: Date },
): Promise<Schedule | undefined> {
  return db
    .selectFrom('schedules')
    .selectAll()
    .where('organization_id', '=', options.organizationId)
    .where('id', '=', options.scheduleId)
    .where('status', '=', 'active')
    .where('next_run_at', '<=', options.now)
    .forUpdate()
    .skipLocked()
    .executeTakeFirst();
}

/**
 * Locks up to `limit` active schedules due at `now`, most overdue first, skipping those another
 * transaction holds, so concurrent callers claim disjoint sets.
 */
export async function claimDueSchedules(
  db: Executor,
  options: { now: Date; limit: number },
): Promise<Schedule[]> {
  return db
    .selectFrom('schedules')
    .selectAll()
    .where('status', '=', 'active')
    .where('next_run_at', '<=', options.now)
    .orderBy('next_run_at')
    .limit(options.limit)
    .forUpdate()
    .skipLocked()
    .execute();
}

/** The send of a schedule's occurrence, if it was made. */
export async function findOccurrenceSendId(
  db: Executor,
  scheduleId: string,
  occurrence: number,
): Promise<string | undefined> {
  const row = await db
    .selectFrom('sends')
    .select('id')
    .where('schedule_id', '=', scheduleId)
    .where('occurrence', '=', occurrence)
    .executeTakeFirst();
  return row?.id;
}

/** Where an occurrence goes: a group's id and chat. */
export interface ScheduleRecipient {
  id: string;
  chat_id: string;
}

/** The organization's groups among `groupIds`, in that order; deleted groups are left out. */
export async function findScheduleRecipients(
  db: Executor,
  organizationId: string,
  groupIds: readonly string[],
): Promise<ScheduleRecipient[]> {
  if (groupIds.length === 0) return [];
  const rows = await db
    .selectFrom('groups')
    .select(['id', 'chat_id'])
    .where('organization_id', '=', organizationId)
    .where('id', 'in', [...groupIds])
    .execute();
  const byId = new Map(rows.map((row) => [row.id, row]));
  return groupIds.flatMap((id) => byId.get(id) ?? []);
}

/**
 * Counts the occurrence `schedule` (as claimed) just made and moves it on: to `nextRunAt`, or
 * to `completed` (no next run) when `nextRunAt` is null, recording `schedule.completed`.
 * Conditional on the schedule being unchanged since the claim; false when it was not.
 */
export async function recordScheduleOccurrence(
  db: Executor,
  schedule: Schedule,
  nextRunAt: Date | null,
): Promise<boolean> {
  const completed = nextRunAt === null;
  const moved = await db
    .updateTable('schedules')
    .set((eb) => ({
      occurrences_made: eb('occurrences_made', '+', 1),
      next_run_at: nextRunAt,
      status: completed ? 'completed' : 'active',
      updated_at: sql<Date>`now()`,
    }))
    .where('id', '=', schedule.id)
    .where('status', '=', 'active')
    .where('occurrences_made', '=', schedule.occurrences_made)
    .executeTakeFirst();
  if (moved.numUpdatedRows === 0n) return false;
  if (completed) {
    await recordEvents(db, [
      {
        organizationId: schedule.organization_id,
        type: 'schedule.completed',
        scheduleId: schedule.id,
        payload: { occurrences_made: schedule.occurrences_made + 1 },
      },
    ]);
  }
  return true;
}

/** What a schedule's job scheduler is built from. */
export interface ActiveScheduleTiming {
  id: string;
  organization_id: string;
  first_run_at: Date;
  interval_ms: number | null;
  next_run_at: Date | null;
}

/** Active schedules one page at a time in id order (`afterId`: the last id of the page before). */
export async function listActiveSchedules(
  db: Executor,
  options: { limit: number; afterId?: string },
): Promise<ActiveScheduleTiming[]> {
  let query = db
    .selectFrom('schedules')
    .select(['id', 'organization_id', 'first_run_at', 'interval_ms', 'next_run_at'])
    .where('status', '=', 'active');
  if (options.afterId !== undefined) query = query.where('id', '>', options.afterId);
  return query.orderBy('id').limit(options.limit).execute();
}

/** Those of `scheduleIds` that are active schedules (of any organization). */
export async function findActiveScheduleIds(
  db: Executor,
  scheduleIds: readonly string[],
): Promise<Set<string>> {
  if (scheduleIds.length === 0) return new Set();
  const rows = await db
    .selectFrom('schedules')
    .select('id')
    .where('id', 'in', [...scheduleIds])
    .where('status', '=', 'active')
    .execute();
  return new Set(rows.map((row) => row.id));
}

/**
 * Closes an occurrence's send that has no recipient (every group of the schedule was deleted):
 * `canceled` at once, with `send.canceled` saying why, rather than `queued` forever.
 */
export async function cancelSendWithoutRecipients(
  db: Executor,
  ref: { organizationId: string; sendId: string },
): Promise<void> {
  await db
    .updateTable('sends')
    .set({ status: 'canceled', updated_at: sql<Date>`now()` })
    .where('organization_id', '=', ref.organizationId)
    .where('id', '=', ref.sendId)
    .execute();
  await recordEvents(db, [
    {
      organizationId: ref.organizationId,
      type: 'send.canceled',
      sendId: ref.sendId,
      payload: { status: 'canceled', reason: 'no_recipients' },
    },
  ]);
}

/**
 * Puts off a schedule that failed to fire by `delayMs`, so the poller's next batches reach the
 * schedules behind it instead of claiming it again at once.
 */
export async function postponeSchedule(
  db: Executor,
  scheduleId: string,
  delayMs: number,
): Promise<void> {
  await db
    .updateTable('schedules')
    .set({
      next_run_at: sql<Date>`now() + make_interval(secs => ${delayMs / 1_000})`,
      updated_at: sql<Date>`now()`,
    })
    .where('id', '=', scheduleId)
    .where('status', '=', 'active')
    .execute();
}
