import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startGmailServer, type GmailServer } from '../fakes/gmail-server.ts';
import {
  createEmailAccount,
  emailDraftsApi,
  emailStackEnv,
  expectSentOnTime,
  seedEmailOrganization,
  type EmailOrganization,
} from '../support/email-drafts-api.ts';
import { expectReceivedSample, sampleDraftRequest, sampleEmail } from '../support/email-sample.ts';
import {
  createTestDatabase,
  createTestRedis,
  type TestDatabase,
  type TestRedis,
} from '../support/harness.ts';
import { startStack, type Stack } from '../support/stack.ts';

const CLIENT = { id: 'outbound-e2e.apps.googleusercontent.com', secret: 'GOCSPX-e2e-secret' };
const REFRESH_TOKEN = '1//0g-e2e-refresh-token';
const REVOKED_REFRESH_TOKEN = '1//0g-e2e-revoked-refresh-token';
const GMAIL_ACCOUNT = 'gmail.sender@acme.example';
const REVOKED_ACCOUNT = 'revoked.sender@acme.example';

/**
 * Email drafts through the API and a dispatcher process to a local server speaking Google's
 * token endpoint and the Gmail API: the whole message in one `messages.send`, and a revoked
 * grant that takes the account out of service.
 */
describe('email drafts through Gmail, end to end', () => {
  let database: TestDatabase;
  let redis: TestRedis;
  let gmail: GmailServer;
  let stack: Stack | undefined;
  let organization: EmailOrganization;
  let api: ReturnType<typeof emailDraftsApi>;

  beforeAll(async () => {
    database = await createTestDatabase();
    redis = createTestRedis();
    gmail = await startGmailServer({
      client: CLIENT,
      grants: { [REFRESH_TOKEN]: GMAIL_ACCOUNT, [REVOKED_REFRESH_TOKEN]: REVOKED_ACCOUNT },
    });
    gmail.revokeGrant(REVOKED_REFRESH_TOKEN);
    stack = await startStack(emailStackEnv(database, redis));
    organization = await seedEmailOrganization(database.db, 'email-drafts-gmail-e2e');
    api = emailDraftsApi(stack.url, organization);
  });

  afterAll(async () => {
    await Promise.all([stack?.api.stop('SIGKILL'), stack?.dispatcher.stop('SIGKILL')]);
    await gmail?.stop();
    await redis.clear();
    await database.drop();
  });

  beforeEach(() => gmail.reset());

  const gmailAccount = (address: string, refreshToken: string) =>
    createEmailAccount(database.db, organization, {
      provider: 'gmail',
      address,
      settings: { token_url: gmail.tokenUrl, api_base_url: gmail.url },
      credentials: {
        client_id: CLIENT.id,
        client_secret: CLIENT.secret,
        refresh_token: refreshToken,
      },
    });

  it('delivers a scheduled draft with every part in one messages.send, on time', async () => {
    const accountId = await gmailAccount(GMAIL_ACCOUNT, REFRESH_TOKEN);
    const sample = sampleEmail('gmail');
    const plannedSendAt = new Date(Date.now() + 3_000);

    const created = await api.create(sampleDraftRequest(sample, accountId, plannedSendAt));
    const sent = await api.waitUntilFinished(created.uid);
    await expectSentOnTime(database.db, sent, plannedSendAt);

    const calls = gmail.calls();
    expect(calls.map((call) => [call.endpoint, call.answer])).toEqual([
      ['token', 200],
      ['send', 200],
    ]);
    expect(calls[0]!.body).toMatchObject({ client_id: CLIENT.id, refresh_token: REFRESH_TOKEN });
    const messages = gmail.messages();
    expect(messages).toHaveLength(1);
    const [message] = messages;
    expect(message!.id).toBe(sent.provider_message_id);
    expect(message!.account).toBe(GMAIL_ACCOUNT);
    // Gmail delivers to every To, Cc and Bcc address of the one message.
    expect(message!.recipients).toEqual([...sample.to, ...sample.cc, ...sample.bcc]);
    await expectReceivedSample(message!.delivered, sample, GMAIL_ACCOUNT);
  });

  it('fails a draft for a revoked grant, takes the account out of service, then calls Google no more', async () => {
    const accountId = await gmailAccount(REVOKED_ACCOUNT, REVOKED_REFRESH_TOKEN);

    const first = await api.create(
      sampleDraftRequest(sampleEmail('revoked-1'), accountId, new Date()),
    );
    const failed = await api.waitUntilFinished(first.uid);
    expect(failed).toMatchObject({
      status: 'failed',
      provider_message_id: null,
      error: { code: 'reauthorization_required' },
    });
    for (const secret of [CLIENT.secret, REVOKED_REFRESH_TOKEN]) {
      expect(failed.error!.message).not.toContain(secret);
    }
    // One token request, refused; nothing was sent.
    expect(gmail.calls().map((call) => [call.endpoint, call.answer])).toEqual([['token', 400]]);
    expect(gmail.messages()).toEqual([]);

    const account = await database.db
      .selectFrom('senders')
      .select(['status', 'status_reason'])
      .where('id', '=', accountId)
      .executeTakeFirstOrThrow();
    expect(account.status).toBe('FAILED');
    expect(account.status_reason).toMatch(/^reauthorization_required: /);
    expect(account.status_reason).not.toContain(REVOKED_REFRESH_TOKEN);

    // The next draft of the account fails at once, without asking Google.
    gmail.reset();
    const second = await api.create(sampleDraftRequest(sampleEmail('revoked-2'), accountId));
    await api.sendNow(second.uid);
    expect(await api.waitUntilFinished(second.uid)).toMatchObject({
      status: 'failed',
      provider_message_id: null,
      error: { code: 'sender_not_working' },
    });
    expect(gmail.calls()).toEqual([]);
  });
});
