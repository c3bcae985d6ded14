import { findEmailDraft } from '@outbound/db';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEmailDraftsDueSource } from './email-drafts.due-source.ts';
import { createDuePoller } from './poll-due.job.ts';
import {
  openEmailDraftsTestContext,
  saveEmailDraft,
  seedEmailAccount,
  seedEmailDraft,
  sendIdsOf,
  type EmailDraftsTestContext,
  type SeededEmailAccount,
} from './test-support/email-drafts.ts';

const HOUR = 3_600_000;

let ctx: EmailDraftsTestContext;
let account: SeededEmailAccount;

beforeAll(async () => {
  ctx = await openEmailDraftsTestContext();
  account = await seedEmailAccount(ctx.db);
});
afterAll(async () => {
  await ctx?.close();
});

const hoursFromNow = (hours: number): Date => new Date(Date.now() + hours * HOUR);
const errorLogs = () => ctx.logs.filter((line) => line.level >= 50);

/** Claims once with the file's own source at `now`, returning the drafts it dispatched. */
async function claimAt(now: Date): Promise<number> {
  const source = createEmailDraftsDueSource({ db: ctx.db, logger: ctx.logger });
  return (await source.claimDue({ limit: 100, now })).claimed;
}

describe('the email drafts due source', () => {
  it('turns each of 60 due drafts into one send exactly once across three concurrent pollers', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 60; i += 1) {
      ids.push(
        await seedEmailDraft(ctx.db, account, { plannedSendAt: hoursFromNow(-1 - i / 100) }),
      );
    }
    const pollers = [0, 1, 2].map(() =>
      createDuePoller({
        sources: [createEmailDraftsDueSource({ db: ctx.newDb(3), logger: ctx.logger })],
        queues: ctx.queues,
        logger: ctx.logger,
        batchSize: 7,
        maxBatches: 100,
      }),
    );
    const results = await Promise.all(pollers.map((poller) => poller.poll()));
    // A draft claimed twice would be counted twice.
    expect(results.reduce((sum, result) => sum + (result['email-drafts'] ?? 0), 0)).toBe(60);
    expect(errorLogs()).toEqual([]);

    const sendIds = await sendIdsOf(ctx.db, ids);
    const distinct = new Set(sendIds.values());
    expect(distinct.size).toBe(60);
    expect(distinct.has(null)).toBe(false);
    const deliveries = await ctx.db
      .selectFrom('deliveries as d')
      .innerJoin('sends as s', 's.id', 'd.send_id')
      .select(['d.id', 'd.send_id', 'd.recipient', 'd.due_at', 's.origin', 's.planned_at'])
      .where('d.send_id', 'in', [...distinct] as string[])
      .execute();
    expect(deliveries).toHaveLength(60);
    for (const delivery of deliveries) {
      expect(delivery).toMatchObject({ origin: 'email_draft', recipient: 'customer@example.com' });
      expect(delivery.due_at).toEqual(delivery.planned_at);
    }
    // Planned at the draft's own time.
    const first = await findEmailDraft(ctx.db, account.organizationId, ids[0]!);
    const firstSend = deliveries.find((delivery) => delivery.send_id === first?.send_id);
    expect(firstSend?.planned_at).toEqual(first?.planned_send_at);
    expect(first?.status).toBe('sending');

    // Every delivery was enqueued after commit, once (job id = delivery id).
    const states = await Promise.all(
      deliveries.map((delivery) => ctx.queues.deliveries.getJobState(delivery.id)),
    );
    expect(states.filter((state) => state !== 'waiting')).toEqual([]);
    expect(await Promise.all(pollers.map((poller) => poller.poll()))).toEqual([
      { 'email-drafts': 0 },
      { 'email-drafts': 0 },
      { 'email-drafts': 0 },
    ]);
  });

  it('leaves a draft alone until its time, and follows a moved time', async () => {
    const now = new Date();
    const later = await seedEmailDraft(ctx.db, account, { plannedSendAt: hoursFromNow(2) });
    const movedAway = await seedEmailDraft(ctx.db, account, { plannedSendAt: hoursFromNow(-1) });
    const movedCloser = await seedEmailDraft(ctx.db, account, { plannedSendAt: hoursFromNow(5) });
    await saveEmailDraft(ctx.db, account.organizationId, movedAway, {
      plannedSendAt: hoursFromNow(3),
    });
    await saveEmailDraft(ctx.db, account.organizationId, movedCloser, {
      plannedSendAt: hoursFromNow(-2),
    });

    expect(await claimAt(now)).toBe(1);
    let sends = await sendIdsOf(ctx.db, [later, movedAway, movedCloser]);
    expect(sends.get(movedCloser)).not.toBeNull();
    expect(sends.get(later)).toBeNull();
    expect(sends.get(movedAway)).toBeNull();
    expect(await findEmailDraft(ctx.db, account.organizationId, movedAway)).toMatchObject({
      status: 'scheduled',
    });

    // Polls later in time find each draft due at its current time.
    expect(await claimAt(hoursFromNow(2.5))).toBe(1);
    expect(await claimAt(hoursFromNow(4))).toBe(1);
    sends = await sendIdsOf(ctx.db, [later, movedAway]);
    expect([...sends.values()].every((sendId) => sendId !== null)).toBe(true);
  });

  it('unschedules a draft whose planned_send_at was cleared', async () => {
    const cleared = await seedEmailDraft(ctx.db, account, { plannedSendAt: hoursFromNow(-1) });
    await saveEmailDraft(ctx.db, account.organizationId, cleared, { plannedSendAt: null });
    expect(await claimAt(hoursFromNow(100))).toBe(0);
    expect(await findEmailDraft(ctx.db, account.organizationId, cleared)).toMatchObject({
      status: 'draft',
      send_id: null,
      planned_send_at: null,
    });
  });

  it('marks a due draft that cannot be sent failed with why, and never claims it again', async () => {
    const noRecipient = await seedEmailDraft(ctx.db, account, {
      to: [],
      plannedSendAt: hoursFromNow(-1),
    });
    const fine = await seedEmailDraft(ctx.db, account, { plannedSendAt: hoursFromNow(-1) });
    const sendsBefore = await ctx.db
      .selectFrom('sends')
      .select((eb) => eb.fn.countAll<string>().as('n'))
      .executeTakeFirstOrThrow();

    expect(await claimAt(new Date())).toBe(2);
    expect(await findEmailDraft(ctx.db, account.organizationId, noRecipient)).toMatchObject({
      status: 'failed',
      send_id: null,
      error: {
        code: 'not_sendable',
        message:
          'the draft came due but cannot be sent: the draft has no recipient: to has no address',
      },
    });
    expect(await findEmailDraft(ctx.db, account.organizationId, fine)).toMatchObject({
      status: 'sending',
    });
    const sendsAfter = await ctx.db
      .selectFrom('sends')
      .select((eb) => eb.fn.countAll<string>().as('n'))
      .executeTakeFirstOrThrow();
    expect(Number(sendsAfter.n)).toBe(Number(sendsBefore.n) + 1);
    expect(await claimAt(hoursFromNow(1))).toBe(0);
    const event = await ctx.db
      .selectFrom('events')
      .select(['type', 'payload'])
      .where('type', '=', 'email_draft.failed')
      .executeTakeFirstOrThrow();
    expect(event.payload).toEqual({ draft_id: noRecipient, error_code: 'not_sendable' });
  });
});
