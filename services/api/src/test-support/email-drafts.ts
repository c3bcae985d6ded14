import { randomBytes } from 'node:crypto';
import {
  claimDelivery,
  createSender,
  markDeliveryFailed,
  markDeliverySent,
  type Db,
} from '@outbound/db';
import { CredentialsCipher, SANDBOX_RATE_LIMIT, type SenderRole } from '@outbound/domain';
import type { z } from 'zod';
import { expect } from 'vitest';
import { emailDraftSchema } from '../routes/email-drafts.schema.ts';
import type { SeededOrganization } from './seed.ts';

const cipher = new CredentialsCipher(randomBytes(32).toString('base64'));

export type EmailDraftBody = z.output<typeof emailDraftSchema>;

/** A sandbox email account (sending unless told otherwise) with the given address. */
export async function seedEmailAccount(
  db: Db,
  organizationId: string,
  address: string | null,
  options: { role?: SenderRole } = {},
): Promise<string> {
  const account = await createSender(db, cipher, {
    organizationId,
    channel: 'email',
    provider: 'sandbox',
    name: address ?? 'no address',
    address,
    role: options.role ?? 'sending',
    rateLimit: SANDBOX_RATE_LIMIT,
  });
  return account.id;
}

/** Calls the email drafts API of a running app as one organization. */
export function emailDraftsClient(baseUrl: string, org: SeededOrganization) {
  const url = `${baseUrl}/api/email/drafts`;
  const json = { ...org.headers, 'Content-Type': 'application/json' };
  return {
    save: (body: unknown) =>
      fetch(url, {
        method: 'POST',
        headers: json,
        body: typeof body === 'string' ? body : JSON.stringify(body),
      }),
    get: (uid: string) => fetch(`${url}/${uid}`, { headers: org.headers }),
    list: (query = '') => fetch(`${url}${query}`, { headers: org.headers }),
    remove: (uid: string) => fetch(`${url}/${uid}`, { method: 'DELETE', headers: org.headers }),
    send: (uid: string) => fetch(`${url}/${uid}/send`, { method: 'POST', headers: org.headers }),
  };
}

/** Reads a draft answer, checking it is exactly the documented record. */
export async function readDraft(response: Response): Promise<EmailDraftBody> {
  return emailDraftSchema.strict().parse(await response.json());
}

/** Rows of the tables an email draft save or send writes, to show a refusal wrote nothing. */
export async function emailDraftRowCounts(db: Db): Promise<Record<string, number>> {
  const count = async (
    table: 'email_drafts' | 'email_draft_attachments' | 'sends' | 'deliveries',
  ): Promise<number> => {
    const row = await db
      .selectFrom(table)
      .select((eb) => eb.fn.countAll<string>().as('n'))
      .executeTakeFirstOrThrow();
    return Number(row.n);
  };
  return {
    email_drafts: await count('email_drafts'),
    email_draft_attachments: await count('email_draft_attachments'),
    sends: await count('sends'),
    deliveries: await count('deliveries'),
  };
}

/** The one delivery of a dispatched draft's send. */
export async function deliveryOfSend(db: Db, sendId: string) {
  const deliveries = await db
    .selectFrom('deliveries')
    .selectAll()
    .where('send_id', '=', sendId)
    .execute();
  expect(deliveries).toHaveLength(1);
  return deliveries[0]!;
}

/** Plays the dispatcher's part for a send's one delivery: claimed, then sent or failed. */
export async function finishDelivery(
  db: Db,
  sendId: string,
  outcome: { providerMessageId: string } | { errorCode: string; errorMessage: string },
): Promise<void> {
  const delivery = await deliveryOfSend(db, sendId);
  const ref = { id: delivery.id, organization_id: delivery.organization_id, send_id: sendId };
  const claim = await claimDelivery(db, ref);
  if (claim === undefined) throw new Error(`delivery ${delivery.id} was not queued`);
  const attempt = { ...ref, attempt: claim.attempt };
  if ('providerMessageId' in outcome) {
    await markDeliverySent(db, attempt, outcome.providerMessageId);
  } else {
    await markDeliveryFailed(db, attempt, {
      code: outcome.errorCode,
      message: outcome.errorMessage,
    });
  }
}
