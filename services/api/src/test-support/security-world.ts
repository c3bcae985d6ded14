import { createHash } from 'node:crypto';
import { createMediaObject, recordSandboxMessage, type Db } from '@outbound/db';
import { encodeOpaqueId } from '@outbound/domain';
import { expect } from 'vitest';
import { mediaUrl, type MediaUrlConfig } from '../media/media-urls.ts';
import { TINY_PNG } from '../media/test-images.ts';
import { seedAgent, seedConversation } from './conversation-seed.ts';
import { seedEmailAccount } from './email-drafts.ts';
import { REFERENCE_CREATE_REQUEST, seedMessageSender } from './message-drafts.ts';
import { seedGroups, seedOrganization, seedSession, type SeededOrganization } from './seed.ts';

/**
 * One organization with one object of every kind the API hands out an id for, made through the
 * API where the API makes them (sends, schedules, drafts, webhooks) and through the repositories where it
 * does not (senders, groups, agents, conversations, media, sandbox messages).
 */
export interface SecurityTenant extends SeededOrganization {
  name: string;
  sessionId: string;
  groupIds: [string, string];
  emailAccountId: string;
  smsSenderId: string;
  agentId: number;
  agentEmail: string;
  conversationId: number;
  conversationDraftId: number;
  /** The opaque id `/v3/response-drafts/{draft_id}` takes for the conversation draft. */
  responseDraftId: string;
  mediaId: string;
  /** The signed URL of the media object (under the app's PUBLIC_BASE_URL). */
  mediaUrl: string;
  sandboxMessageId: string;
  sendId: string;
  scheduleId: string;
  whatsappDraftId: string;
  emailDraftUid: string;
  messageDraftId: string;
  webhookId: string;
}

/** Calls the running app as a tenant; `path` may carry a query string. */
export async function callAs(
  baseUrl: string,
  tenant: Pick<SeededOrganization, 'key'>,
  method: string,
  path: string,
  body?: unknown,
): Promise<Response> {
  return fetch(`${baseUrl}${path}`, {
    method,
    headers: {
      Authorization: `Bearer ${tenant.key}`,
      ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

async function created<T>(response: Response, status = 201): Promise<T> {
  const text = await response.text();
  expect(response.status, text).toBe(status);
  return JSON.parse(text) as T;
}

/** A tenant with every kind of object, `name` distinguishing it in names and keys. */
export async function seedSecurityTenant(
  db: Db,
  baseUrl: string,
  config: MediaUrlConfig,
  name: string,
): Promise<SecurityTenant> {
  const org = await seedOrganization(db, name);
  const organizationId = org.organizationId;
  const sessionId = await seedSession(db, organizationId, { name: `${name} session` });
  const groupIds = (await seedGroups(db, organizationId, [sessionId], 2)) as [string, string];
  const emailAccountId = await seedEmailAccount(db, organizationId, `sales@${name}.example`);
  const smsSenderId = await seedMessageSender(db, organizationId, 'sms');
  const agentEmail = `agent@${name}.example`;
  const agent = await seedAgent(db, organizationId, agentEmail);
  const conversationId = await seedConversation(db, organizationId);
  const media = await createMediaObject(db, {
    organizationId,
    storageKey: `outbound/${organizationId}/20260101T000000.000-dot.png`,
    sha256: createHash('sha256').update(TINY_PNG).digest('hex'),
    sizeBytes: TINY_PNG.length,
    mimetype: 'image/png',
    filename: 'dot.png',
    sourceUrl: null,
    data: TINY_PNG,
  });
  const sandboxMessageId = await recordSandboxMessage(db, {
    organizationId,
    senderId: sessionId,
    channel: 'whatsapp',
    recipient: 'someone@g.us',
    content: { text: 'seeded' },
  });

  const call = (method: string, path: string, body?: unknown) =>
    callAs(baseUrl, org, method, path, body);
  const send = await created<{ send: { send_id: string } }>(
    await call('POST', '/v2/outbound/sends', {
      session_id: sessionId,
      group_ids: groupIds,
      idempotency_key: `${name}-send`,
      text: `hello from ${name}`,
    }),
    202,
  );
  const schedule = await created<{ schedule: { schedule_id: string } }>(
    await call('POST', '/v2/outbound/sends', {
      session_id: sessionId,
      group_ids: groupIds,
      idempotency_key: `${name}-schedule`,
      text: `later from ${name}`,
      schedule: { first_run_at_ms: Date.now() + 30 * 86_400_000 },
    }),
    202,
  );
  const whatsappDraft = await created<{ id: string }>(
    await call('POST', '/v2/outbound/drafts', {
      session_id: sessionId,
      group_ids: groupIds,
      text: `draft of ${name}`,
    }),
  );
  const emailDraft = await created<{ uid: string }>(
    await call('POST', '/api/email/drafts', {
      from_account_id: emailAccountId,
      to: [`customer@${name}.example`],
      subject: `Follow-up from ${name}`,
      body_text: 'Hi',
    }),
  );
  const messageDraft = await created<{ draft_id: string }>(
    await call(
      'POST',
      `/api/v2/organizations/${organizationId}/message-drafts`,
      REFERENCE_CREATE_REQUEST,
    ),
  );
  const conversationDraft = await created<{ id: number }>(
    await call('POST', `/v3/conversations/${conversationId}/drafts`, {
      content: `reply of ${name}`,
      author_email: agentEmail,
    }),
  );
  // A name that resolves nowhere is accepted (its calls check it again), and no dispatcher runs.
  const webhook = await created<{ webhook: { webhook_id: string } }>(
    await call('POST', '/v2/webhooks', {
      url: `https://hooks.${name}.example/outbound`,
      events: ['*'],
    }),
  );
  return {
    ...org,
    name,
    sessionId,
    groupIds,
    emailAccountId,
    smsSenderId,
    agentId: agent.id,
    agentEmail,
    conversationId,
    conversationDraftId: conversationDraft.id,
    responseDraftId: encodeOpaqueId('response_draft', conversationDraft.id),
    mediaId: media.id,
    mediaUrl: mediaUrl(config, media),
    sandboxMessageId,
    sendId: send.send.send_id,
    scheduleId: schedule.schedule.schedule_id,
    whatsappDraftId: whatsappDraft.id,
    emailDraftUid: emailDraft.uid,
    messageDraftId: messageDraft.draft_id,
    webhookId: webhook.webhook.webhook_id,
  };
}
