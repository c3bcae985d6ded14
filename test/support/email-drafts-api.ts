import { setTimeout as sleep } from 'node:timers/promises';
import {
  createApiKey,
  createOrganization,
  createSender,
  type Db,
  type Delivery,
} from '@outbound/db';
import { CredentialsCipher, type Provider } from '@outbound/domain';
import { expect } from 'vitest';
import { testEnv, type TestDatabase, type TestRedis } from './harness.ts';

/**
 * The credentials key the services of an email end-to-end test run with: pass it as
 * `CREDENTIALS_ENCRYPTION_KEY` to the stack, and seal senders' credentials with `e2eCipher`.
 */
export const E2E_CREDENTIALS_KEY = Buffer.alloc(32, 'e2e-email-drafts').toString('base64');
export const e2eCipher = new CredentialsCipher(E2E_CREDENTIALS_KEY);

/**
 * The environment of an email end-to-end stack: the test's database and Redis, the credentials
 * key of `e2eCipher`, logs the stack can wait on, and a short poll so due drafts go out soon.
 */
export function emailStackEnv(database: TestDatabase, redis: TestRedis): Record<string, string> {
  return testEnv(database, redis, {
    HOST: '127.0.0.1',
    LOG_LEVEL: 'info',
    CREDENTIALS_ENCRYPTION_KEY: E2E_CREDENTIALS_KEY,
    POLL_INTERVAL_MS: '250',
  });
}

/** An organization with an API key, as `seed-demo` would make it. */
export interface EmailOrganization {
  organizationId: string;
  /** Headers for a request with the organization's key (JSON body). */
  headers: Record<string, string>;
}

export async function seedEmailOrganization(db: Db, name: string): Promise<EmailOrganization> {
  const organization = await createOrganization(db, name);
  const { key } = await createApiKey(db, {
    organizationId: organization.id,
    actorUserId: `${name}-actor`,
  });
  return {
    organizationId: organization.id,
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
  };
}

export interface EmailAccountOptions {
  provider: Provider;
  address: string;
  settings?: Record<string, unknown>;
  /** Sealed with `e2eCipher`. */
  credentials?: Record<string, unknown>;
}

/** A WORKING sending email account of the organization; returns its id. */
export async function createEmailAccount(
  db: Db,
  organization: EmailOrganization,
  options: EmailAccountOptions,
): Promise<string> {
  const account = await createSender(db, e2eCipher, {
    organizationId: organization.organizationId,
    channel: 'email',
    provider: options.provider,
    name: `${options.provider} ${options.address}`,
    address: options.address,
    rateLimit: { max: 1_000, window_ms: 1_000 },
    ...(options.settings === undefined ? {} : { settings: options.settings }),
    ...(options.credentials === undefined ? {} : { credentials: options.credentials }),
  });
  return account.id;
}

/** A draft as `/api/email/drafts` answers it (the fields these tests read). */
export interface EmailDraftView {
  uid: string;
  from_account_id: string;
  from_email: string | null;
  to: string[];
  cc: string[];
  bcc: string[];
  subject: string | null;
  body_text: string | null;
  body_html: string | null;
  planned_send_at: string | null;
  status: string;
  attachments: { id: string; filename: string; content_type: string; size_bytes: number }[];
  send_id: string | null;
  provider_message_id: string | null;
  error: { code: string; message: string } | null;
}

const FINISHED = new Set(['sent', 'failed', 'canceled']);

/** The email drafts API of a running stack, as one organization. */
export function emailDraftsApi(baseUrl: string, organization: EmailOrganization) {
  const url = `${baseUrl}/api/email/drafts`;
  const { headers } = organization;

  async function answer(response: Response, expected: number): Promise<EmailDraftView> {
    const body = await response.json();
    if (response.status !== expected) {
      throw new Error(
        `${response.url} answered ${response.status}, not ${expected}: ${JSON.stringify(body)}`,
      );
    }
    return body as EmailDraftView;
  }

  const get = async (uid: string) => answer(await fetch(`${url}/${uid}`, { headers }), 200);

  return {
    /** Creates a draft (201). */
    create: async (body: Record<string, unknown>) =>
      answer(await fetch(url, { method: 'POST', headers, body: JSON.stringify(body) }), 201),
    get,
    /** Sends a draft now (202). */
    sendNow: async (uid: string) =>
      answer(await fetch(`${url}/${uid}/send`, { method: 'POST', headers }), 202),
    /** Polls the draft until its delivery is over: `sent`, `failed` or `canceled`. */
    async waitUntilFinished(uid: string, timeoutMs = 30_000): Promise<EmailDraftView> {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const draft = await get(uid);
        if (FINISHED.has(draft.status)) return draft;
        if (Date.now() > deadline) {
          throw new Error(`draft ${uid} still ${draft.status} after ${timeoutMs} ms`);
        }
        await sleep(100);
      }
    },
  };
}

/** The one delivery of a send, with its send's planned time. */
export async function deliveryOfSend(
  db: Db,
  sendId: string,
): Promise<Delivery & { planned_at: Date }> {
  const rows = await db
    .selectFrom('deliveries')
    .innerJoin('sends', 'sends.id', 'deliveries.send_id')
    .selectAll('deliveries')
    .select('sends.planned_at')
    .where('deliveries.send_id', '=', sendId)
    .execute();
  if (rows.length !== 1) throw new Error(`send ${sendId} has ${rows.length} deliveries, not 1`);
  return rows[0]!;
}

/**
 * Checks that a sent draft went out in one attempt, never before its time: its send is planned
 * at `plannedSendAt`, and its delivery was claimed and sent at or after it. Returns the delivery.
 */
export async function expectSentOnTime(
  db: Db,
  draft: EmailDraftView,
  plannedSendAt: Date,
): Promise<Delivery> {
  expect(draft).toMatchObject({ status: 'sent', error: null });
  expect(draft.planned_send_at).toBe(plannedSendAt.toISOString());
  expect(draft.send_id).toEqual(expect.any(String));
  expect(draft.provider_message_id).toEqual(expect.any(String));
  const delivery = await deliveryOfSend(db, draft.send_id!);
  expect(delivery).toMatchObject({
    status: 'sent',
    attempts: 1,
    provider_message_id: draft.provider_message_id,
    recipient: draft.to[0],
  });
  expect(delivery.planned_at.getTime()).toBe(plannedSendAt.getTime());
  expect(delivery.claimed_at!.getTime()).toBeGreaterThanOrEqual(plannedSendAt.getTime());
  expect(delivery.sent_at!.getTime()).toBeGreaterThanOrEqual(plannedSendAt.getTime());
  return delivery;
}
