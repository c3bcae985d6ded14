import { randomBytes } from 'node:crypto';
import { createSender, type Db } from '@outbound/db';
import {
  CredentialsCipher,
  SANDBOX_RATE_LIMIT,
  type SenderRole,
  type SenderStatus,
} from '@outbound/domain';
import { expect } from 'vitest';
import type { z } from 'zod';
import {
  messageDraftCreatedSchema,
  messageDraftListSchema,
  messageDraftSchema,
} from '../routes/message-drafts.schema.ts';
import type { SeededOrganization } from './seed.ts';

const cipher = new CredentialsCipher(randomBytes(32).toString('base64'));

export type MessageDraftBody = z.output<typeof messageDraftSchema>;
export type MessageDraftCreatedBody = z.output<typeof messageDraftCreatedSchema>;
export type MessageDraftListBody = z.output<typeof messageDraftListSchema>;

/** A sandbox sender of the channel a modality needs (WORKING and sending unless told). */
export async function seedMessageSender(
  db: Db,
  organizationId: string,
  channel: 'email' | 'sms',
  options: { address?: string | null; status?: SenderStatus; role?: SenderRole } = {},
): Promise<string> {
  const sender = await createSender(db, cipher, {
    organizationId,
    channel,
    provider: 'sandbox',
    name: `${channel} sender`,
    address:
      options.address === undefined
        ? channel === 'email'
          ? 'sales@acme.example'
          : '+15005550006'
        : options.address,
    role: options.role ?? 'sending',
    status: options.status ?? 'WORKING',
    rateLimit: SANDBOX_RATE_LIMIT,
  });
  return sender.id;
}

/**
 * Calls the message drafts API of a running app as one organization, with the reference's
 * `X-API-KEY` header, under `organizationId` (the caller's own unless told).
 */
export function messageDraftsClient(
  baseUrl: string,
  org: SeededOrganization,
  organizationId = org.organizationId,
) {
  const url = `${baseUrl}/api/v2/organizations/${organizationId}/message-drafts`;
  const headers = { 'X-API-KEY': org.key };
  return {
    url,
    create: (body: unknown) =>
      fetch(url, {
        method: 'POST',
        headers: { ...headers, 'Content-Type': 'application/json' },
        body: typeof body === 'string' ? body : JSON.stringify(body),
      }),
    list: (query = '') => fetch(`${url}${query}`, { headers }),
    get: (draftId: string) => fetch(`${url}/${draftId}`, { headers }),
    remove: (draftId: string) => fetch(`${url}/${draftId}`, { method: 'DELETE', headers }),
  };
}

/** Reads a create answer, checking it is exactly the reference's four fields. */
export async function readCreated(response: Response): Promise<MessageDraftCreatedBody> {
  expect(response.status).toBe(201);
  return messageDraftCreatedSchema.strict().parse(await response.json());
}

/** Reads a detail answer, checking it is exactly the documented record. */
export async function readMessageDraft(response: Response): Promise<MessageDraftBody> {
  expect(response.status).toBe(200);
  return messageDraftSchema.strict().parse(await response.json());
}

export async function readMessageDraftList(response: Response): Promise<MessageDraftListBody> {
  expect(response.status).toBe(200);
  return messageDraftListSchema.strict().parse(await response.json());
}

type CountedTable =
  | 'message_drafts'
  | 'sends'
  | 'deliveries'
  | 'notifications'
  | 'events'
  | 'conversations'
  | 'conversation_messages';

/** Rows of every table a message draft request may write, to show a refusal wrote nothing. */
export async function messageDraftRowCounts(db: Db): Promise<Record<CountedTable, number>> {
  const tables: CountedTable[] = [
    'message_drafts',
    'sends',
    'deliveries',
    'notifications',
    'events',
    'conversations',
    'conversation_messages',
  ];
  const counts = {} as Record<CountedTable, number>;
  for (const table of tables) {
    const row = await db
      .selectFrom(table)
      .select((eb) => eb.fn.countAll<string>().as('n'))
      .executeTakeFirstOrThrow();
    counts[table] = Number(row.n);
  }
  return counts;
}

/**
 * The reference's create request. Its addresses are written `[email protected]` in the
 * reference (an e-mail obfuscation of the page it was copied from, not an address): these
 * stand in for them.
 */
export const REFERENCE_CREATE_REQUEST = {
  modality: 'email',
  subject: 'Following up on your quote',
  body_html: '<p>Hi Diana, checking in on the quote we sent yesterday.</p>',
  to_user_name: 'Diana Prince',
  to_email: 'diana.prince@example.com',
  to_phone_number: '513-867-5309',
  cc_emails: ['steve.trevor@example.com'],
  bcc_emails: [],
  autosend_draft: false,
  add_notification: true,
  folder: 'Sales Follow-up',
} as const;
