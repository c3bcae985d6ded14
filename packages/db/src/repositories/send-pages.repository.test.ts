import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CredentialsCipher, SANDBOX_RATE_LIMIT } from '@outbound/domain';
import { createTestDatabase, type TestDatabase } from '@outbound/test/harness';
import { createOrganization } from './organizations.repository.ts';
import { createSchedule } from './schedules.repository.ts';
import { listSends, type ListSendsOptions } from './send-pages.repository.ts';
import { createSender } from './senders.repository.ts';
import { createSend } from './sends.repository.ts';

describe('listSends', () => {
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
    return { organizationId: org.id, senderId: sender.id };
  }

  function send(
    owner: { organizationId: string; senderId: string },
    extra: { scheduleId?: string; occurrence?: number } = {},
  ) {
    return {
      organizationId: owner.organizationId,
      senderId: owner.senderId,
      channel: 'whatsapp' as const,
      origin:
        extra.scheduleId === undefined
          ? ('whatsapp_send' as const)
          : ('schedule_occurrence' as const),
      content: { text: 'x', media: [] },
      recipients: [{ recipient: 'a@g.us' }],
      ...extra,
    };
  }

  /** Every page of the listing, following each page's last send as the cursor. */
  async function allPages(options: Omit<ListSendsOptions, 'afterSendId'>): Promise<string[][]> {
    const pages: string[][] = [];
    let afterSendId: string | undefined;
    for (;;) {
      const page = await listSends(database.db, {
        ...options,
        ...(afterSendId === undefined ? {} : { afterSendId }),
      });
      if (page.length > 0) pages.push(page.map((row) => row.id));
      if (page.length < options.limit) return pages;
      afterSendId = page.at(-1)!.id;
    }
  }

  it('pages through every send newest first, ties on created_at included, no gaps or repeats', async () => {
    const owner = await organization('pages');
    const made: string[] = [];
    for (let i = 0; i < 3; i += 1) made.push((await createSend(database.db, send(owner))).send.id);
    // One transaction: the same now() for all four, so only the id orders them.
    const tied = await database.db.transaction().execute(async (trx) => {
      const ids = [];
      for (let i = 0; i < 4; i += 1) ids.push((await createSend(trx, send(owner))).send.id);
      return ids;
    });
    made.push(...tied);
    made.push((await createSend(database.db, send(owner))).send.id);
    const other = await organization('pages-other');
    await createSend(database.db, send(other));

    const rows = await database.db
      .selectFrom('sends')
      .select(['id', 'created_at'])
      .where('id', 'in', tied)
      .execute();
    expect(new Set(rows.map((row) => row.created_at.getTime())).size).toBe(1);

    const expected = await database.db
      .selectFrom('sends')
      .select('id')
      .where('organization_id', '=', owner.organizationId)
      .orderBy('created_at', 'desc')
      .orderBy('id', 'desc')
      .execute();
    expect(expected.map((row) => row.id).sort()).toEqual([...made].sort());

    const pages = await allPages({ organizationId: owner.organizationId, limit: 3 });
    expect(pages.map((page) => page.length)).toEqual([3, 3, 2]);
    expect(pages.flat()).toEqual(expected.map((row) => row.id));
    expect(made.at(-1)).toBe(pages[0]![0]);

    const [firstRow] = await listSends(database.db, {
      organizationId: owner.organizationId,
      limit: 1,
    });
    expect(firstRow).toMatchObject({
      id: made.at(-1),
      sender_id: owner.senderId,
      origin: 'whatsapp_send',
      status: 'queued',
      schedule_id: null,
      occurrence: null,
    });
  });

  it("lists one schedule's occurrences only", async () => {
    const owner = await organization('occurrences');
    const { schedule } = await createSchedule(database.db, {
      organizationId: owner.organizationId,
      senderId: owner.senderId,
      actorUserId: 'user-1',
      groupIds: [],
      content: { text: 'x', media: [] },
      firstRunAt: new Date(),
      intervalMs: 60_000,
      maxOccurrences: 5,
    });
    await createSend(database.db, send(owner));
    const occurrences = [];
    for (let occurrence = 1; occurrence <= 3; occurrence += 1) {
      occurrences.push(
        (await createSend(database.db, send(owner, { scheduleId: schedule.id, occurrence }))).send,
      );
    }
    const pages = await allPages({
      organizationId: owner.organizationId,
      scheduleId: schedule.id,
      limit: 2,
    });
    expect(pages.flat()).toEqual(occurrences.map((s) => s.id).reverse());
    const rows = await listSends(database.db, {
      organizationId: owner.organizationId,
      scheduleId: schedule.id,
      limit: 10,
    });
    expect(rows.map((row) => [row.origin, row.schedule_id, row.occurrence])).toEqual([
      ['schedule_occurrence', schedule.id, 3],
      ['schedule_occurrence', schedule.id, 2],
      ['schedule_occurrence', schedule.id, 1],
    ]);
  });

  it('yields an empty page for a cursor that names no send of the organization', async () => {
    const owner = await organization('cursor');
    const other = await organization('cursor-other');
    await createSend(database.db, send(owner));
    const theirs = (await createSend(database.db, send(other))).send.id;
    const base = { organizationId: owner.organizationId, limit: 10 };
    expect(await listSends(database.db, { ...base, afterSendId: randomUUID() })).toEqual([]);
    expect(await listSends(database.db, { ...base, afterSendId: theirs })).toEqual([]);
    expect(await listSends(database.db, base)).toHaveLength(1);
  });
});
