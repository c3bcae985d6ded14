import { promoteSentMessageDraft } from '@outbound/db';
import { decodeOpaqueId, encodeOpaqueId } from '@outbound/domain';
import { createTestDatabase, createTestRedis, type TestDatabase } from '@outbound/test/harness';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { finishDelivery } from '../test-support/email-drafts.ts';
import { readError } from '../test-support/error-body.ts';
import {
  messageDraftRowCounts,
  messageDraftsClient,
  readCreated,
  readMessageDraft,
  REFERENCE_CREATE_REQUEST,
  seedMessageSender,
} from '../test-support/message-drafts.ts';
import { seedOrganization, type SeededOrganization } from '../test-support/seed.ts';
import { startTestApp, type TestApp } from '../test-support/test-app.ts';

const redis = createTestRedis();
let database: TestDatabase;
let api: TestApp;
let acme: SeededOrganization;
let client: ReturnType<typeof messageDraftsClient>;

beforeAll(async () => {
  database = await createTestDatabase();
  api = await startTestApp(database, redis);
  acme = await seedOrganization(database.db, 'acme');
  client = messageDraftsClient(api.url, acme);
  await seedMessageSender(database.db, acme.organizationId, 'email');
  await seedMessageSender(database.db, acme.organizationId, 'sms');
});

afterAll(async () => {
  await api.stop();
  await database.drop();
  await redis.clear();
});

const saved = { ...REFERENCE_CREATE_REQUEST, add_notification: false };
const autosend = { ...saved, autosend_draft: true };

async function create(body: Record<string, unknown> = saved): Promise<string> {
  return (await readCreated(await client.create(body))).draft_id;
}

async function sendIdOf(draftId: string): Promise<string> {
  const row = await database.db
    .selectFrom('message_drafts')
    .select('send_id')
    .where('id', '=', decodeOpaqueId(draftId)!.id)
    .executeTakeFirstOrThrow();
  if (row.send_id === null) throw new Error('draft has no send');
  return row.send_id;
}

async function expectNotFound(response: Response, details: Record<string, unknown>) {
  expect(response.status).toBe(404);
  const error = (await readError(response)).error;
  expect(error.code).toBe('not_found');
  expect(error.details).toEqual(details);
  return error;
}

describe('GET …/message-drafts/{draft_id}', () => {
  it('answers the draft of the reference', async () => {
    const draftId = await create();
    expect(await readMessageDraft(await client.get(draftId))).toMatchObject({
      draft_id: draftId,
      modality: 'email',
      subject: 'Following up on your quote',
      folder: 'sales-follow-up',
      status: 'draft',
    });
  });

  it('encodes the agent id', async () => {
    const draftId = await create();
    const agent = await database.db
      .insertInto('agents')
      .values({ organization_id: acme.organizationId, email: 'rep@acme.example', name: 'Rep' })
      .returning('id')
      .executeTakeFirstOrThrow();
    await database.db
      .updateTable('message_drafts')
      .set({ agent_id: agent.id })
      .where('id', '=', decodeOpaqueId(draftId)!.id)
      .execute();
    const detail = await readMessageDraft(await client.get(draftId));
    expect(detail.agent_id).toBe(encodeOpaqueId('agent', agent.id));
    expect(decodeOpaqueId(detail.agent_id!)).toEqual({ kind: 'agent', id: String(agent.id) });
  });

  it('answers a sent draft with 404 and the route of its conversation', async () => {
    const draftId = await create(autosend);
    const sendId = await sendIdOf(draftId);
    await finishDelivery(database.db, sendId, { providerMessageId: 'p-1' });
    const promoted = await promoteSentMessageDraft(database.db, {
      organizationId: acme.organizationId,
      sendId,
    });
    const route = `/v3/conversations/${promoted!.conversationId}`;
    const error = await expectNotFound(await client.get(draftId), {
      draft_id: draftId,
      reason: 'it was sent and promoted into a conversation',
      route,
      conversation_id: promoted!.conversationId,
    });
    expect(error.message).toContain(route);
  });

  it('promotes a sent draft the dispatcher has not promoted yet, and hints the same', async () => {
    const draftId = await create(autosend);
    const sendId = await sendIdOf(draftId);
    await finishDelivery(database.db, sendId, { providerMessageId: 'p-2' });
    const before = await messageDraftRowCounts(database.db);

    const response = await client.get(draftId);
    const conversation = await database.db
      .selectFrom('conversations')
      .select('id')
      .where('message_draft_id', '=', decodeOpaqueId(draftId)!.id)
      .executeTakeFirstOrThrow();
    await expectNotFound(response, {
      draft_id: draftId,
      reason: 'it was sent and promoted into a conversation',
      route: `/v3/conversations/${conversation.id}`,
      conversation_id: conversation.id,
    });
    expect((await messageDraftRowCounts(database.db)).conversations).toBe(before.conversations + 1);
    // Asking again promotes nothing more.
    expect((await client.get(draftId)).status).toBe(404);
    expect((await client.remove(draftId)).status).toBe(404);
    expect((await messageDraftRowCounts(database.db)).conversations).toBe(before.conversations + 1);
  });

  it('answers a response draft’s id with 404 and the response drafts route', async () => {
    const responseDraftId = encodeOpaqueId('response_draft', 42);
    const route = `/v3/response-drafts/${responseDraftId}`;
    for (const response of [
      await client.get(responseDraftId),
      await client.remove(responseDraftId),
    ]) {
      const error = await expectNotFound(response, {
        draft_id: responseDraftId,
        reason: 'the id belongs to a response draft',
        route,
      });
      expect(error.message).toContain(route);
    }
  });

  it.each([
    ['an agent id', encodeOpaqueId('agent', 7)],
    [
      'a message draft id that was never issued',
      encodeOpaqueId('message_draft', crypto.randomUUID()),
    ],
    ['a message draft id that is not a uuid', encodeOpaqueId('message_draft', 12)],
    ['a raw uuid', crypto.randomUUID()],
    ['the reference placeholder', 'HR_id_example_message_draft_id'],
  ])('answers %s with a plain 404', async (_case, draftId) => {
    await expectNotFound(await client.get(draftId), { draft_id: draftId });
    await expectNotFound(await client.remove(draftId), { draft_id: draftId });
  });

  it('answers another organization’s draft with a plain 404, sent or not', async () => {
    const other = await seedOrganization(database.db, 'other');
    await seedMessageSender(database.db, other.organizationId, 'email');
    const otherClient = messageDraftsClient(api.url, other);
    const draftId = (await readCreated(await otherClient.create(saved))).draft_id;
    const sentId = (await readCreated(await otherClient.create(autosend))).draft_id;
    await finishDelivery(database.db, await sendIdOf(sentId), { providerMessageId: 'p-3' });
    await readMessageDraft(await otherClient.get(draftId));

    for (const id of [draftId, sentId]) {
      await expectNotFound(await client.get(id), { draft_id: id });
      await expectNotFound(await client.remove(id), { draft_id: id });
    }
    // Nor under the other organization's path with acme's key.
    const foreign = messageDraftsClient(api.url, acme, other.organizationId);
    expect((await foreign.get(draftId)).status).toBe(404);
    expect((await foreign.remove(draftId)).status).toBe(404);
    await readMessageDraft(await otherClient.get(draftId));
  });
});

describe('DELETE …/message-drafts/{draft_id}', () => {
  it('deletes a saved draft: 204, then 404', async () => {
    const draftId = await create();
    const response = await client.remove(draftId);
    expect(response.status).toBe(204);
    expect(await response.text()).toBe('');
    await expectNotFound(await client.get(draftId), { draft_id: draftId });
    await expectNotFound(await client.remove(draftId), { draft_id: draftId });
  });

  it('refuses with 400 while the draft is queued or being sent', async () => {
    const draftId = await create(autosend);
    const refuse = async (status: string) => {
      const response = await client.remove(draftId);
      expect(response.status).toBe(400);
      const error = (await readError(response)).error;
      expect(error).toMatchObject({ code: 'bad_request', details: { draft_id: draftId, status } });
      expect(error.message).toMatch(/cannot be deleted until its delivery has finished/);
      expect(await readMessageDraft(await client.get(draftId))).toMatchObject({ status });
    };
    await refuse('queued');

    const delivery = await database.db
      .selectFrom('deliveries')
      .selectAll()
      .where('send_id', '=', await sendIdOf(draftId))
      .executeTakeFirstOrThrow();
    await database.db
      .updateTable('deliveries')
      .set({ status: 'sending', attempts: 1 })
      .where('id', '=', delivery.id)
      .execute();
    await refuse('sending');
  });

  it('deletes a draft whose delivery failed, keeping its send', async () => {
    const draftId = await create(autosend);
    const sendId = await sendIdOf(draftId);
    await finishDelivery(database.db, sendId, {
      errorCode: 'invalid_recipient',
      errorMessage: 'no',
    });
    expect(await readMessageDraft(await client.get(draftId))).toMatchObject({ status: 'failed' });
    const row = await database.db
      .selectFrom('message_drafts')
      .select('status')
      .where('id', '=', decodeOpaqueId(draftId)!.id)
      .executeTakeFirstOrThrow();
    expect(row.status).toBe('failed');

    expect((await client.remove(draftId)).status).toBe(204);
    await expectNotFound(await client.get(draftId), { draft_id: draftId });
    const send = await database.db
      .selectFrom('sends')
      .select('status')
      .where('id', '=', sendId)
      .executeTakeFirstOrThrow();
    expect(send.status).toBe('failed');
  });

  it('answers a promoted draft with 404 and the route of its conversation', async () => {
    const draftId = await create(autosend);
    const sendId = await sendIdOf(draftId);
    await finishDelivery(database.db, sendId, { providerMessageId: 'p-4' });
    const promoted = await promoteSentMessageDraft(database.db, {
      organizationId: acme.organizationId,
      sendId,
    });
    await expectNotFound(await client.remove(draftId), {
      draft_id: draftId,
      reason: 'it was sent and promoted into a conversation',
      route: `/v3/conversations/${promoted!.conversationId}`,
      conversation_id: promoted!.conversationId,
    });
    const row = await database.db
      .selectFrom('message_drafts')
      .select('status')
      .where('id', '=', decodeOpaqueId(draftId)!.id)
      .executeTakeFirst();
    expect(row?.status).toBe('sent');
  });
});
