import { createSend, recordSandboxMessage } from '@outbound/db';
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

const redis = createTestRedis();
let database: TestDatabase;
let api: TestApp;
let acme: SeededOrganization;
let other: SeededOrganization;
let firstSend: string;
let otherSend: string;
/** Message ids of the first send, oldest first. */
let firstMessages: string[];
let secondMessages: string[];

interface Page {
  messages: {
    id: string;
    send_id: string | null;
    recipient_send_id: string | null;
    group_id: string | null;
    session_id: string;
    recipient: string;
    content: Record<string, unknown>;
  }[];
  next_before: string | null;
}

/** A send to `groups` groups whose deliveries the sandbox has all "delivered". */
async function deliveredSend(org: SeededOrganization, groups: number) {
  const sessionId = await seedSession(database.db, org.organizationId);
  const groupIds = await seedGroups(database.db, org.organizationId, [sessionId], groups);
  const chats = await database.db
    .selectFrom('groups')
    .select(['id', 'chat_id'])
    .where('id', 'in', groupIds)
    .orderBy('id')
    .execute();
  const { send, deliveries } = await createSend(database.db, {
    organizationId: org.organizationId,
    senderId: sessionId,
    channel: 'whatsapp',
    origin: 'whatsapp_send',
    content: { text: 'hi', media: [] },
    recipients: chats.map((chat) => ({ recipient: chat.chat_id, groupId: chat.id })),
  });
  const messageIds: string[] = [];
  for (const delivery of deliveries) {
    messageIds.push(
      await recordSandboxMessage(database.db, {
        organizationId: org.organizationId,
        senderId: sessionId,
        channel: 'whatsapp',
        recipient: delivery.recipient,
        deliveryId: delivery.id,
        content: { text: 'hi' },
      }),
    );
  }
  return { sendId: send.id, messageIds, deliveries };
}

beforeAll(async () => {
  database = await createTestDatabase();
  api = await startTestApp(database, redis);
  acme = await seedOrganization(database.db, 'acme');
  other = await seedOrganization(database.db, 'other');
  const first = await deliveredSend(acme, 3);
  const second = await deliveredSend(acme, 2);
  const theirs = await deliveredSend(other, 1);
  [firstSend, firstMessages] = [first.sendId, first.messageIds];
  secondMessages = second.messageIds;
  otherSend = theirs.sendId;
});

afterAll(async () => {
  await api.stop();
  await database.drop();
  await redis.clear();
});

async function list(query: string, org: SeededOrganization = acme): Promise<Page> {
  const response = await fetch(`${api.url}/v2/sandbox/messages${query}`, { headers: org.headers });
  expect(response.status).toBe(200);
  return (await response.json()) as Page;
}

describe('GET /v2/sandbox/messages', () => {
  it("lists the organization's sandbox messages newest first", async () => {
    const page = await list('');
    expect(page.messages.map((m) => m.id)).toEqual([...firstMessages, ...secondMessages].reverse());
    expect(page.next_before).toBeNull();
  });

  it('filters by send_id and says which delivery and group each message was', async () => {
    const page = await list(`?send_id=${firstSend}`);
    expect(page.messages.map((m) => m.id)).toEqual([...firstMessages].reverse());
    const deliveries = await database.db
      .selectFrom('deliveries')
      .select(['id', 'group_id', 'recipient'])
      .where('send_id', '=', firstSend)
      .execute();
    for (const message of page.messages) {
      expect(message.send_id).toBe(firstSend);
      const delivery = deliveries.find((d) => d.id === message.recipient_send_id);
      expect(delivery).toMatchObject({ group_id: message.group_id, recipient: message.recipient });
      expect(message.content).toEqual({ text: 'hi' });
    }
  });

  it('pages with limit and before', async () => {
    const all = [...firstMessages, ...secondMessages].reverse();
    const first = await list('?limit=2');
    expect(first.messages.map((m) => m.id)).toEqual(all.slice(0, 2));
    expect(first.next_before).toBe(all[1]);
    const second = await list(`?limit=2&before=${first.next_before}`);
    expect(second.messages.map((m) => m.id)).toEqual(all.slice(2, 4));
    const last = await list(`?limit=2&before=${second.next_before}`);
    expect(last.messages.map((m) => m.id)).toEqual(all.slice(4));
    expect(last.next_before).toBeNull();
  });

  it('shows another organization only its own messages', async () => {
    const page = await list('', other);
    expect(page.messages.map((m) => m.send_id)).toEqual([otherSend]);
  });

  it("answers another organization's send_id with 404", async () => {
    const response = await fetch(`${api.url}/v2/sandbox/messages?send_id=${otherSend}`, {
      headers: acme.headers,
    });
    expect(response.status).toBe(404);
    expect((await readError(response)).error.message).toBe(`send ${otherSend} not found`);
  });

  it.each(['limit=0', 'limit=201', 'limit=abc', 'send_id=nope', 'before=nope'])(
    'refuses %s with 400',
    async (query) => {
      const response = await fetch(`${api.url}/v2/sandbox/messages?${query}`, {
        headers: acme.headers,
      });
      expect(response.status).toBe(400);
    },
  );

  it('accepts the maximum limit of 200 and defaults to 50', async () => {
    const sessionId = await seedSession(database.db, other.organizationId);
    for (let i = 0; i < 55; i += 1) {
      await recordSandboxMessage(database.db, {
        organizationId: other.organizationId,
        senderId: sessionId,
        channel: 'whatsapp',
        recipient: `chat-${i}@g.us`,
        content: { text: String(i) },
      });
    }
    expect((await list('', other)).messages).toHaveLength(50);
    expect((await list('?limit=200', other)).messages).toHaveLength(56);
  });
});
