import { randomBytes, randomInt } from 'node:crypto';
import {
  addGroupToSession,
  appendConversationMessage,
  createAgent,
  createApiKey,
  createConversation,
  createGroup,
  createOrganization,
  createSender,
  type Db,
  type Executor,
} from '@outbound/db';
import {
  type Channel,
  type CredentialsCipher,
  SANDBOX_RATE_LIMIT,
  type SenderRole,
  type SenderStatus,
} from '@outbound/domain';
import { z } from 'zod';

/**
 * What `outbound seed-demo --json` prints. Later issues add fields; they never rename these.
 *
 * - `sessions.working`: a WORKING sending WhatsApp session (sandbox) in which every `group_ids`
 *   group is present.
 * - `sessions.receiving`: a WORKING receiving WhatsApp session (sandbox).
 * - `sessions.stopped`: a STOPPED sending WhatsApp session (sandbox).
 * - `foreign_group_id`: a group of the organization present only in the stopped session.
 * - `email_account_id`, `sms_sender_id`: WORKING sending sandbox senders.
 * - `api_key` / `second_actor.api_key`: keys of two distinct actors of the organization.
 * - `agents`: two agents of the organization (integer ids), authors and targets of
 *   conversation drafts (`author_id` / `author_email`).
 * - `conversation_id`: an email conversation of the organization with one inbound message,
 *   ready for `POST /v3/conversations/{conversation_id}/drafts`.
 */
export const seedDemoResultSchema = z.object({
  organization_id: z.uuid(),
  api_key: z.string().min(1),
  actor_user_id: z.string().min(1),
  second_actor: z.object({ api_key: z.string().min(1), actor_user_id: z.string().min(1) }),
  sessions: z.object({ working: z.uuid(), receiving: z.uuid(), stopped: z.uuid() }),
  group_ids: z.array(z.uuid()).length(3),
  foreign_group_id: z.uuid(),
  email_account_id: z.uuid(),
  sms_sender_id: z.uuid(),
  agents: z.array(z.object({ id: z.int().positive(), email: z.email() })).min(2),
  conversation_id: z.int().positive(),
});
export type SeedDemoResult = z.infer<typeof seedDemoResultSchema>;

/** Creates a new demo organization and everything in it, in one transaction. */
export async function seedDemo(db: Db, cipher: CredentialsCipher): Promise<SeedDemoResult> {
  return db.transaction().execute((tx) => seedInto(tx, cipher));
}

async function seedInto(tx: Executor, cipher: CredentialsCipher): Promise<SeedDemoResult> {
  const short = randomBytes(4).toString('hex');
  const organization = await createOrganization(tx, `Demo ${short}`);
  const organizationId = organization.id;

  const actorUserId = `user_demo_${short}`;
  const secondActorUserId = `user_demo_${short}_second`;
  const firstKey = await createApiKey(tx, {
    organizationId,
    actorUserId,
    name: 'demo',
  });
  const secondKey = await createApiKey(tx, {
    organizationId,
    actorUserId: secondActorUserId,
    name: 'demo (second actor)',
  });

  const sandboxSender = async (
    channel: Channel,
    name: string,
    address: string,
    role: SenderRole,
    status: SenderStatus,
  ): Promise<string> => {
    const sender = await createSender(tx, cipher, {
      organizationId,
      channel,
      provider: 'sandbox',
      name,
      address,
      role,
      status,
      rateLimit: SANDBOX_RATE_LIMIT,
    });
    return sender.id;
  };
  const working = await sandboxSender(
    'whatsapp',
    'Demo WhatsApp (working)',
    demoPhoneNumber(),
    'sending',
    'WORKING',
  );
  const receiving = await sandboxSender(
    'whatsapp',
    'Demo WhatsApp (receiving)',
    demoPhoneNumber(),
    'receiving',
    'WORKING',
  );
  const stopped = await sandboxSender(
    'whatsapp',
    'Demo WhatsApp (stopped)',
    demoPhoneNumber(),
    'sending',
    'STOPPED',
  );
  const emailAccountId = await sandboxSender(
    'email',
    'Demo email account',
    `demo-${short}@outbound.test`,
    'sending',
    'WORKING',
  );
  const smsSenderId = await sandboxSender(
    'sms',
    'Demo SMS number',
    demoPhoneNumber(),
    'sending',
    'WORKING',
  );

  const group = async (index: number | 'foreign', sessionId: string): Promise<string> => {
    const created = await createGroup(tx, {
      organizationId,
      chatId: `120363${short}${index === 'foreign' ? '9' : index}@g.us`,
      name: index === 'foreign' ? 'Demo group (stopped session only)' : `Demo group ${index}`,
    });
    await addGroupToSession(tx, { organizationId, groupId: created.id, sessionId });
    return created.id;
  };
  const groupIds = [await group(1, working), await group(2, working), await group(3, working)];
  const foreignGroupId = await group('foreign', stopped);

  const agents = [];
  for (const name of ['Ada', 'Sam']) {
    const agent = await createAgent(tx, {
      organizationId,
      email: `${name.toLowerCase()}-${short}@outbound.test`,
      name: `${name} (demo agent)`,
    });
    agents.push({ id: agent.id, email: agent.email });
  }
  const conversation = await createConversation(tx, {
    organizationId,
    modality: 'email',
    subject: 'Where is my order?',
    recipientName: 'Diana Prince',
    recipientEmail: `diana-${short}@example.com`,
  });
  await appendConversationMessage(tx, {
    organizationId,
    conversationId: conversation.id,
    direction: 'inbound',
    subject: 'Where is my order?',
    bodyHtml: '<p>Hi, my order has not arrived yet. Could you check?</p>',
  });

  return seedDemoResultSchema.parse({
    organization_id: organizationId,
    api_key: firstKey.key,
    actor_user_id: actorUserId,
    second_actor: { api_key: secondKey.key, actor_user_id: secondActorUserId },
    sessions: { working, receiving, stopped },
    group_ids: groupIds,
    foreign_group_id: foreignGroupId,
    email_account_id: emailAccountId,
    sms_sender_id: smsSenderId,
    agents,
    conversation_id: conversation.id,
  });
}

/** A number in the 555-01xx range North America reserves for fiction. */
function demoPhoneNumber(): string {
  return `+1${randomInt(200, 1000)}55501${String(randomInt(0, 100)).padStart(2, '0')}`;
}
