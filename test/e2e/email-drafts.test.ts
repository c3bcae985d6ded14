import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSmtpServer, type SmtpTestServer } from '../fakes/smtp-server.ts';
import { startCountingProxy, type CountingProxy } from '../support/counting-proxy.ts';
import {
  createEmailAccount,
  emailDraftsApi,
  emailStackEnv,
  expectSentOnTime,
  seedEmailOrganization,
} from '../support/email-drafts-api.ts';
import { expectReceivedSample, sampleDraftRequest, sampleEmail } from '../support/email-sample.ts';
import {
  createTestDatabase,
  createTestRedis,
  type TestDatabase,
  type TestRedis,
} from '../support/harness.ts';
import { startStack, type Stack } from '../support/stack.ts';

const SMTP_USER = 'mailer@smtp.example';
const SMTP_PASSWORD = 'correct horse battery staple';

/** When a scheduled draft is planned: a few seconds ahead, so it is dispatched by the poller. */
const threeSecondsFromNow = () => new Date(Date.now() + 3_000);

/**
 * Email drafts through the API and a dispatcher process, to the sandbox and to a real SMTP
 * server: what was drafted is what is received, in one provider call, never before its time.
 */
describe('email drafts, end to end', () => {
  let database: TestDatabase;
  let redis: TestRedis;
  let smtp: SmtpTestServer;
  let relay: CountingProxy;
  let stack: Stack | undefined;
  let api: ReturnType<typeof emailDraftsApi>;
  let organization: Awaited<ReturnType<typeof seedEmailOrganization>>;

  beforeAll(async () => {
    database = await createTestDatabase();
    redis = createTestRedis();
    smtp = await startSmtpServer({ tls: 'none', users: { [SMTP_USER]: SMTP_PASSWORD } });
    // Between the dispatcher and the server: one connection per provider call.
    relay = await startCountingProxy({ host: '127.0.0.1', port: smtp.port });
    stack = await startStack(emailStackEnv(database, redis));
    organization = await seedEmailOrganization(database.db, 'email-drafts-e2e');
    api = emailDraftsApi(stack.url, organization);
  });

  afterAll(async () => {
    await Promise.all([stack?.api.stop('SIGKILL'), stack?.dispatcher.stop('SIGKILL')]);
    await relay?.stop();
    await smtp?.stop();
    await redis.clear();
    await database.drop();
  });

  const sandboxMessagesOf = (senderId: string) =>
    database.db
      .selectFrom('sandbox_messages')
      .selectAll()
      .where('sender_id', '=', senderId)
      .execute();

  /** What the sandbox keeps of an email: the message the adapter was given. */
  const sandboxContentOf = (sample: ReturnType<typeof sampleEmail>, from: string) => ({
    from: { address: from },
    to: sample.to,
    cc: sample.cc,
    bcc: sample.bcc,
    subject: sample.subject,
    text: sample.text,
    html: sample.html,
    attachments: sample.attachments.map((file) => ({
      filename: file.filename,
      contentType: file.contentType,
      contentBase64: file.data.toString('base64'),
    })),
    attempt: 1,
  });

  it('delivers a scheduled draft with every part through the sandbox, once and on time', async () => {
    const from = 'sandbox.sender@acme.example';
    const accountId = await createEmailAccount(database.db, organization, {
      provider: 'sandbox',
      address: from,
    });
    const sample = sampleEmail('sandbox');
    const plannedSendAt = threeSecondsFromNow();

    const created = await api.create(sampleDraftRequest(sample, accountId, plannedSendAt));
    expect(created).toMatchObject({
      from_account_id: accountId,
      from_email: from,
      to: sample.to,
      cc: sample.cc,
      bcc: sample.bcc,
      subject: sample.subject,
      body_text: sample.text,
      body_html: sample.html,
      planned_send_at: plannedSendAt.toISOString(),
    });
    expect(created.attachments.map((file) => [file.filename, file.size_bytes])).toEqual(
      sample.attachments.map((file) => [file.filename, file.data.length]),
    );

    const sent = await api.waitUntilFinished(created.uid);
    const delivery = await expectSentOnTime(database.db, sent, plannedSendAt);

    const messages = await sandboxMessagesOf(accountId);
    expect(messages).toHaveLength(1);
    expect(messages[0]).toMatchObject({
      id: sent.provider_message_id,
      delivery_id: delivery.id,
      channel: 'email',
      recipient: sample.to.join(', '),
    });
    expect(messages[0]!.content).toEqual(sandboxContentOf(sample, from));
  });

  it('delivers a scheduled draft through SMTP: one transaction, Bcc only in the envelope', async () => {
    const from = 'smtp.sender@acme.example';
    const accountId = await createEmailAccount(database.db, organization, {
      provider: 'smtp',
      address: from,
      settings: { host: '127.0.0.1', port: relay.port, tls: 'none' },
      credentials: { user: SMTP_USER, password: SMTP_PASSWORD },
    });
    const sample = sampleEmail('smtp');
    const plannedSendAt = threeSecondsFromNow();

    const created = await api.create(sampleDraftRequest(sample, accountId, plannedSendAt));
    const sent = await api.waitUntilFinished(created.uid);
    await expectSentOnTime(database.db, sent, plannedSendAt);

    expect(relay.connections()).toBe(1);
    const received = smtp.messages();
    expect(received).toHaveLength(1);
    const [message] = received;
    expect(message!.messageId).toBe(sent.provider_message_id);
    expect(message!.user).toBe(SMTP_USER);
    expect(message!.envelope).toEqual({
      from,
      to: [...sample.to, ...sample.cc, ...sample.bcc],
    });
    const parsed = await expectReceivedSample(message!.raw, sample, from);
    expect(parsed.messageId).toBe(sent.provider_message_id);
  });

  it('sends a draft now through the sandbox', async () => {
    const from = 'send-now@acme.example';
    const accountId = await createEmailAccount(database.db, organization, {
      provider: 'sandbox',
      address: from,
    });
    const sample = sampleEmail('now');
    const created = await api.create(sampleDraftRequest(sample, accountId));
    expect(created).toMatchObject({ status: 'draft', planned_send_at: null, send_id: null });

    const dispatched = await api.sendNow(created.uid);
    expect(dispatched).toMatchObject({ uid: created.uid, error: null });
    expect(['sending', 'sent']).toContain(dispatched.status);
    expect(dispatched.send_id).toEqual(expect.any(String));

    const sent = await api.waitUntilFinished(created.uid);
    expect(sent).toMatchObject({ status: 'sent', send_id: dispatched.send_id, error: null });
    const messages = await sandboxMessagesOf(accountId);
    expect(messages).toHaveLength(1);
    expect(messages[0]!.id).toBe(sent.provider_message_id);
    expect(messages[0]!.content).toEqual(sandboxContentOf(sample, from));

    // Once sent, it cannot be sent again.
    const again = await fetch(`${stack!.url}/api/email/drafts/${created.uid}/send`, {
      method: 'POST',
      headers: organization.headers,
    });
    expect(again.status).toBe(409);
    expect(await sandboxMessagesOf(accountId)).toHaveLength(1);
  });
});
