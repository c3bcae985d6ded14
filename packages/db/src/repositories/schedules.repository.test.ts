import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CredentialsCipher, SANDBOX_RATE_LIMIT } from '@outbound/domain';
import { createTestDatabase, type TestDatabase } from '@outbound/test/harness';
import { createGroup } from './groups.repository.ts';
import { createOrganization } from './organizations.repository.ts';
import {
  claimDueSchedule,
  claimDueSchedules,
  createSchedule,
  findActiveScheduleIds,
  findSchedule,
  findScheduleRecipients,
  listActiveSchedules,
  recordScheduleOccurrence,
  type Schedule,
} from './schedules.repository.ts';
import { createSender } from './senders.repository.ts';

const MINUTE = 60_000;

describe('schedules repository', () => {
  let database: TestDatabase;
  const cipher = new CredentialsCipher(randomBytes(32).toString('base64'));

  beforeAll(async () => {
    database = await createTestDatabase();
  });
  afterAll(async () => {
    await database.drop();
  });

  async function organization(name: string) {
    const org = await createOrganization(database.db, name);
    const sender = await createSender(database.db, cipher, {
      organizationId: org.id,
      channel: 'whatsapp',
      provider: 'sandbox',
      name,
      rateLimit: SANDBOX_RATE_LIMIT,
    });
    const group = await createGroup(database.db, {
      organizationId: org.id,
      chatId: `${name}@g.us`,
    });
    return { organizationId: org.id, senderId: sender.id, groupId: group.id };
  }

  async function schedule(
    owner: Awaited<ReturnType<typeof organization>>,
    options: { firstRunAt: Date; intervalMs?: number | null; maxOccurrences?: number },
  ): Promise<Schedule> {
    const created = await createSchedule(database.db, {
      organizationId: owner.organizationId,
      senderId: owner.senderId,
      actorUserId: 'user-1',
      groupIds: [owner.groupId],
      content: { text: 'hello', media: [] },
      firstRunAt: options.firstRunAt,
      intervalMs: options.intervalMs === undefined ? MINUTE : options.intervalMs,
      maxOccurrences: options.maxOccurrences ?? 3,
    });
    return created.schedule;
  }

  /** Marks every schedule made so far as not due, so a test's claims only see its own. */
  async function parkAll(): Promise<void> {
    await database.db
      .updateTable('schedules')
      .set({ next_run_at: new Date(Date.now() + 24 * 60 * MINUTE) })
      .where('status', '=', 'active')
      .execute();
  }

  it('creates an active schedule due at its first run, with a schedule.created event', async () => {
    const owner = await organization('create');
    const firstRunAt = new Date(Date.now() + MINUTE);
    const created = await createSchedule(database.db, {
      organizationId: owner.organizationId,
      senderId: owner.senderId,
      actorUserId: 'user-1',
      groupIds: [owner.groupId],
      content: { text: 'hi', media: [] },
      firstRunAt,
      intervalMs: 5 * MINUTE,
      maxOccurrences: 4,
      requestId: 'req-1',
    });
    expect(created.schedule).toMatchObject({
      organization_id: owner.organizationId,
      status: 'active',
      group_ids: [owner.groupId],
      content: { text: 'hi', media: [] },
      first_run_at: firstRunAt,
      next_run_at: firstRunAt,
      interval_ms: 5 * MINUTE,
      max_occurrences: 4,
      occurrences_made: 0,
    });
    const events = await database.db
      .selectFrom('events')
      .selectAll()
      .where('id', 'in', created.eventIds)
      .execute();
    expect(events).toMatchObject([
      {
        type: 'schedule.created',
        schedule_id: created.schedule.id,
        payload: {
          first_run_at_ms: firstRunAt.getTime(),
          interval_ms: 5 * MINUTE,
          max_occurrences: 4,
          request_id: 'req-1',
        },
      },
    ]);
    expect(await findSchedule(database.db, owner.organizationId, created.schedule.id)).toEqual(
      created.schedule,
    );
    const other = await organization('create-other');
    expect(await findSchedule(database.db, other.organizationId, created.schedule.id)).toBe(
      undefined,
    );
  });

  it('claims one schedule only when it is active, due, of the organization and unlocked', async () => {
    const owner = await organization('claim-one');
    const due = await schedule(owner, { firstRunAt: new Date(Date.now() - MINUTE) });
    const later = await schedule(owner, { firstRunAt: new Date(Date.now() + MINUTE) });
    const now = new Date();
    const claim = (organizationId: string, scheduleId: string) =>
      claimDueSchedule(database.db, { organizationId, scheduleId, now });

    expect((await claim(owner.organizationId, due.id))?.id).toBe(due.id);
    expect(await claim(owner.organizationId, later.id)).toBeUndefined();
    expect(await claim((await organization('claim-one-other')).organizationId, due.id)).toBe(
      undefined,
    );

    // Held by another transaction: skipped, not waited for.
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let locked!: () => void;
    const isLocked = new Promise<void>((resolve) => (locked = resolve));
    const holder = database.db.transaction().execute(async (trx) => {
      await claimDueSchedule(trx, {
        organizationId: owner.organizationId,
        scheduleId: due.id,
        now,
      });
      locked();
      await held;
    });
    await isLocked;
    expect(await claim(owner.organizationId, due.id)).toBeUndefined();
    release();
    await holder;
    expect((await claim(owner.organizationId, due.id))?.id).toBe(due.id);

    await database.db
      .updateTable('schedules')
      .set({ status: 'paused' })
      .where('id', '=', due.id)
      .execute();
    expect(await claim(owner.organizationId, due.id)).toBeUndefined();
  });

  it('claims due schedules most overdue first; concurrent claims get disjoint sets', async () => {
    await parkAll();
    const owner = await organization('claim-many');
    const base = Date.now() - 60 * MINUTE;
    const due = [];
    for (let i = 0; i < 8; i += 1) {
      due.push(await schedule(owner, { firstRunAt: new Date(base + (7 - i) * MINUTE) }));
    }
    await schedule(owner, { firstRunAt: new Date(Date.now() + MINUTE) });
    const now = new Date();
    const overdueFirst = [...due].reverse().map((s) => s.id);

    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let firstClaimed!: (ids: string[]) => void;
    const first = new Promise<string[]>((resolve) => (firstClaimed = resolve));
    const holder = database.db.transaction().execute(async (trx) => {
      const claimed = await claimDueSchedules(trx, { now, limit: 5 });
      firstClaimed(claimed.map((s) => s.id));
      await held;
    });
    const firstIds = await first;
    const secondIds = await database.db
      .transaction()
      .execute(async (trx) => (await claimDueSchedules(trx, { now, limit: 10 })).map((s) => s.id));
    release();
    await holder;

    expect(firstIds).toEqual(overdueFirst.slice(0, 5));
    expect(secondIds).toEqual(overdueFirst.slice(5));
    // Released: a later claim sees every due schedule again (none was moved on).
    const again = await database.db
      .transaction()
      .execute((trx) => claimDueSchedules(trx, { now, limit: 100 }));
    expect(again.map((s) => s.id)).toEqual(overdueFirst);
  });

  it('records an occurrence only on the schedule as claimed, and completes the last one', async () => {
    const owner = await organization('record');
    const first = new Date(Date.now() - MINUTE);
    const claimed = await schedule(owner, { firstRunAt: first, maxOccurrences: 2 });
    const next = new Date(first.getTime() + MINUTE);

    expect(await recordScheduleOccurrence(database.db, claimed, next)).toBe(true);
    let row = await findSchedule(database.db, owner.organizationId, claimed.id);
    expect(row).toMatchObject({ status: 'active', occurrences_made: 1, next_run_at: next });
    // The same claim again is stale now: nothing moves.
    expect(await recordScheduleOccurrence(database.db, claimed, new Date())).toBe(false);
    expect(await findSchedule(database.db, owner.organizationId, claimed.id)).toEqual(row);

    expect(await recordScheduleOccurrence(database.db, row!, null)).toBe(true);
    row = await findSchedule(database.db, owner.organizationId, claimed.id);
    expect(row).toMatchObject({ status: 'completed', occurrences_made: 2, next_run_at: null });
    const events = await database.db
      .selectFrom('events')
      .select(['type', 'payload'])
      .where('schedule_id', '=', claimed.id)
      .orderBy('id')
      .execute();
    expect(events).toEqual([
      { type: 'schedule.created', payload: expect.any(Object) as unknown },
      { type: 'schedule.completed', payload: { occurrences_made: 2 } },
    ]);
    // A completed (or canceled) schedule counts nothing more.
    expect(await recordScheduleOccurrence(database.db, row!, null)).toBe(false);
  });

  it('lists active schedules by id page by page, and tells which ids are active', async () => {
    const owner = await organization('list');
    const made = [];
    for (let i = 0; i < 5; i += 1) {
      made.push(await schedule(owner, { firstRunAt: new Date(Date.now() + MINUTE) }));
    }
    await database.db
      .updateTable('schedules')
      .set({ status: 'completed', next_run_at: null })
      .where('id', '=', made[1]!.id)
      .execute();
    const activeIds = new Set(
      (
        await database.db
          .selectFrom('schedules')
          .select('id')
          .where('status', '=', 'active')
          .execute()
      ).map((row) => row.id),
    );

    const listed: string[] = [];
    let afterId: string | undefined;
    for (;;) {
      const page = await listActiveSchedules(database.db, {
        limit: 2,
        ...(afterId === undefined ? {} : { afterId }),
      });
      listed.push(...page.map((s) => s.id));
      if (page.length < 2) break;
      afterId = page.at(-1)!.id;
    }
    expect(listed).toEqual([...activeIds].sort());
    expect(listed).not.toContain(made[1]!.id);

    const missing = randomUUID();
    const found = await findActiveScheduleIds(database.db, [made[0]!.id, made[1]!.id, missing]);
    expect([...found]).toEqual([made[0]!.id]);
    expect(await findActiveScheduleIds(database.db, [])).toEqual(new Set());
  });

  it("finds a schedule's groups in its order, leaving out deleted and foreign ones", async () => {
    const owner = await organization('recipients');
    const other = await organization('recipients-other');
    const b = await createGroup(database.db, { organizationId: owner.organizationId, chatId: 'b' });
    const gone = await createGroup(database.db, {
      organizationId: owner.organizationId,
      chatId: 'gone',
    });
    await database.db.deleteFrom('groups').where('id', '=', gone.id).execute();
    const found = await findScheduleRecipients(database.db, owner.organizationId, [
      b.id,
      gone.id,
      other.groupId,
      owner.groupId,
    ]);
    expect(found).toEqual([
      { id: b.id, chat_id: 'b' },
      { id: owner.groupId, chat_id: 'recipients@g.us' },
    ]);
    expect(await findScheduleRecipients(database.db, owner.organizationId, [])).toEqual([]);
  });
});
