import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger, loadConfig } from '@outbound/config';
import {
  createDb,
  createEmailDraft,
  createOrganization,
  createSender,
  dispatchEmailDraft,
  type Db,
  type EmailDraftChanges,
  findEmailDraft,
  lockEmailDraft,
} from '@outbound/db';
import {
  closeQueues,
  createQueues,
  createWorkerConnection,
  enqueueDeliveries,
  type Queues,
} from '@outbound/queue';
import { startSmtpServer, type SmtpTestServer } from '@outbound/fakes/smtp-server';
import { startCountingProxy, type CountingProxy } from '@outbound/test/counting-proxy';
import { expectReceivedSample, sampleEmail, type SampleEmail } from '@outbound/test/email-sample';
import {
  createTestDatabase,
  createTestRedis,
  testEnv,
  type TestDatabase,
  type TestRedis,
} from '@outbound/test/harness';
import { createDispatcher, type Dispatcher } from './dispatcher.ts';
import {
  captureLogs,
  deliveriesOf,
  testCipher,
  waitFor,
  waitUntilFinished,
} from './test-support/fixtures.ts';

const SMTP_USER = 'mailer@smtp.example';
const SMTP_PASSWORD = 'correct horse battery staple';
const FROM = 'billing@acme.example';

/** The draft's fields for a sample email. */
const draftOf = (sample: SampleEmail): EmailDraftChanges => ({
  to: sample.to,
  cc: sample.cc,
  bcc: sample.bcc,
  subject: sample.subject,
  bodyText: sample.text,
  bodyHtml: sample.html,
  attachments: sample.attachments,
});

/**
 * Email drafts through an in-process dispatcher (the registry's SMTP adapter, real BullMQ) to a
 * real SMTP server, reached through a relay that counts connections: one per provider call.
 */
describe('email deliveries through SMTP', () => {
  let database: TestDatabase;
  let redis: TestRedis;
  let db: Db;
  let producer: Redis;
  let queues: Queues;
  let dispatcher: Dispatcher;
  let smtp: SmtpTestServer;
  let relay: CountingProxy;
  let organizationId: string;
  let accountId: string;

  beforeAll(async () => {
    database = await createTestDatabase();
    db = database.db;
    redis = createTestRedis();
    smtp = await startSmtpServer({ tls: 'none', users: { [SMTP_USER]: SMTP_PASSWORD } });
    relay = await startCountingProxy({ host: '127.0.0.1', port: smtp.port });
    producer = createWorkerConnection({ url: redis.url, connectionName: 'email-delivery-test' });
    queues = createQueues({ connection: producer, prefix: redis.prefix });
    const config = loadConfig(
      testEnv(database, redis, {
        POLL_INTERVAL_MS: '100',
        DELIVERY_BACKOFF_MS: '50',
        SWEEPER_INTERVAL_MS: '3600000',
      }),
    );
    dispatcher = createDispatcher({
      config,
      logger: createLogger(config, { name: 'dispatcher', destination: captureLogs().destination }),
      db: createDb({ connectionString: database.url, poolMax: 4 }),
      connection: createWorkerConnection({ url: redis.url }),
      cipher: testCipher,
    });
    await dispatcher.start();

    const organization = await createOrganization(db, 'Email delivery');
    organizationId = organization.id;
    const account = await createSender(db, testCipher, {
      organizationId,
      channel: 'email',
      provider: 'smtp',
      name: 'billing mailbox',
      address: FROM,
      rateLimit: { max: 1_000, window_ms: 1_000 },
      settings: { host: '127.0.0.1', port: relay.port, tls: 'none' },
      credentials: { user: SMTP_USER, password: SMTP_PASSWORD },
    });
    accountId = account.id;
  });

  afterAll(async () => {
    await dispatcher?.close();
    await closeQueues(queues);
    producer?.disconnect();
    await relay?.stop();
    await smtp?.stop();
    await redis.clear();
    await database.drop();
  });

  it('sends a draft due now, in one SMTP transaction carrying the whole message', async () => {
    const sample = sampleEmail('due-now');
    const plannedSendAt = new Date();
    const connectionsBefore = relay.connections();
    const draftId = await createEmailDraft(db, organizationId, {
      fromAccountId: accountId,
      ...draftOf(sample),
      plannedSendAt,
    });

    // The dispatcher's own poll-due job dispatches it; its delivery then goes out.
    const sendId = await waitFor(async () => {
      const draft = await findEmailDraft(db, organizationId, draftId);
      return draft?.send_id ?? undefined;
    });
    const [delivery, ...others] = await waitUntilFinished(db, [sendId]);
    expect(others).toEqual([]);
    expect(delivery).toMatchObject({ status: 'sent', attempts: 1, recipient: sample.to[0] });
    expect(delivery!.claimed_at!.getTime()).toBeGreaterThanOrEqual(plannedSendAt.getTime());

    const draft = await findEmailDraft(db, organizationId, draftId);
    expect(draft).toMatchObject({
      status: 'sent',
      send_id: sendId,
      provider_message_id: delivery!.provider_message_id,
      error: null,
    });

    expect(relay.connections() - connectionsBefore).toBe(1);
    const received = smtp.messages();
    expect(received).toHaveLength(1);
    expect(received[0]!.messageId).toBe(delivery!.provider_message_id);
    expect(received[0]!.user).toBe(SMTP_USER);
    expect(received[0]!.envelope).toEqual({
      from: FROM,
      to: [...sample.to, ...sample.cc, ...sample.bcc],
    });
    await expectReceivedSample(received[0]!.raw, sample, FROM);
  });

  it('fails for good, without calling the server, when an attachment is gone by sending time', async () => {
    smtp.reset();
    const sample = sampleEmail('attachment-gone');
    // Unscheduled, so only this test dispatches it (as POST /send does).
    const draftId = await createEmailDraft(db, organizationId, {
      fromAccountId: accountId,
      ...draftOf(sample),
    });
    const dispatched = await db.transaction().execute(async (trx) => {
      const locked = await lockEmailDraft(trx, organizationId, draftId);
      return dispatchEmailDraft(trx, locked!, { plannedAt: new Date() });
    });
    if (dispatched.outcome !== 'dispatched') throw new Error('the draft was not dispatched');

    const gone = await db
      .deleteFrom('email_draft_attachments')
      .where('draft_id', '=', draftId)
      .where('filename', '=', sample.attachments[1]!.filename)
      .executeTakeFirst();
    expect(gone.numDeletedRows).toBe(1n);
    const connectionsBefore = relay.connections();
    await enqueueDeliveries(
      queues,
      dispatched.deliveries.map((delivery) => ({
        delivery_id: delivery.id,
        organization_id: delivery.organization_id,
      })),
    );

    const [delivery] = await waitUntilFinished(db, [dispatched.sendId]);
    expect(delivery).toMatchObject({
      status: 'failed',
      attempts: 1,
      error_code: 'invalid_message',
      provider_message_id: null,
    });
    expect(delivery!.error_message).toMatch(/^attachment [0-9a-f-]+ of send .+ no longer exists$/);
    expect(await deliveriesOf(db, dispatched.sendId)).toHaveLength(1);
    expect(await findEmailDraft(db, organizationId, draftId)).toMatchObject({
      status: 'failed',
      error: { code: 'invalid_message' },
    });
    expect(relay.connections()).toBe(connectionsBefore);
    expect(smtp.messages()).toEqual([]);
  });
});
