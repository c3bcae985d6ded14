// Email drafts planned 3 s ahead, through the sandbox, a fake Gmail API and a real local SMTP
// server: lag from `planned_send_at` to the delivery recorded `sent`.
import { CredentialsCipher } from '@outbound/domain';
import { createApiKey, createOrganization, createSender, type Db } from '@outbound/db';
import { startGmailServer, type GmailServer } from '../fakes/gmail-server.ts';
import { startSmtpServer, type SmtpTestServer } from '../fakes/smtp-server.ts';
import { sleep } from './bench-support.ts';

/** The bench services' credentials key (see `serviceEnv`). */
const cipher = new CredentialsCipher(Buffer.alloc(32, 7).toString('base64'));
const CLIENT = { id: 'bench.apps.googleusercontent.com', secret: 'bench-secret' };
const REFRESH_TOKEN = '1//bench-refresh-token';

export type EmailRoute = 'sandbox' | 'gmail' | 'smtp';
export const EMAIL_ROUTES: readonly EmailRoute[] = ['sandbox', 'gmail', 'smtp'];

export interface EmailFixture {
  headers: Record<string, string>;
  accounts: Record<EmailRoute, string>;
  stop(): Promise<void>;
}

export async function seedEmailFixture(db: Db): Promise<EmailFixture> {
  const gmail: GmailServer = await startGmailServer({
    client: CLIENT,
    grants: { [REFRESH_TOKEN]: 'bench.gmail@example.com' },
  });
  const smtp: SmtpTestServer = await startSmtpServer();
  const organization = await createOrganization(db, 'bench-email');
  const { key } = await createApiKey(db, {
    organizationId: organization.id,
    actorUserId: 'bench',
  });
  const account = async (
    provider: EmailRoute,
    settings: Record<string, unknown> = {},
    credentials?: Record<string, unknown>,
  ) =>
    (
      await createSender(db, cipher, {
        organizationId: organization.id,
        channel: 'email',
        provider,
        name: `bench ${provider}`,
        address: `bench.${provider}@example.com`,
        rateLimit: { max: 1_000_000, window_ms: 1_000 },
        settings,
        ...(credentials === undefined ? {} : { credentials }),
      })
    ).id;
  return {
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    accounts: {
      sandbox: await account('sandbox'),
      gmail: await account(
        'gmail',
        { token_url: gmail.tokenUrl, api_base_url: gmail.url },
        { client_id: CLIENT.id, client_secret: CLIENT.secret, refresh_token: REFRESH_TOKEN },
      ),
      smtp: await account('smtp', { host: '127.0.0.1', port: smtp.port, tls: 'none' }),
    },
    stop: async () => {
      await Promise.all([gmail.stop(), smtp.stop()]);
    },
  };
}

/** Saves a draft planned 3 s ahead from `route`'s account; resolves with its lag once sent. */
export async function emailDraftLag(
  db: Db,
  url: string,
  fixture: EmailFixture,
  route: EmailRoute,
): Promise<number> {
  const planned = new Date(Date.now() + 3_000);
  const response = await fetch(`${url}/api/email/drafts`, {
    method: 'POST',
    headers: fixture.headers,
    body: JSON.stringify({
      from_account_id: fixture.accounts[route],
      to: ['customer@example.com'],
      cc: ['manager@example.com'],
      subject: 'due-lag benchmark',
      body_text: 'Hello',
      planned_send_at: planned.toISOString(),
    }),
  });
  const draft = (await response.json()) as { uid?: string };
  if (response.status !== 201 || draft.uid === undefined) {
    throw new Error(`POST /api/email/drafts answered ${response.status}`);
  }
  const deadline = performance.now() + 30_000;
  for (;;) {
    const row = await db
      .selectFrom('email_drafts')
      .innerJoin('deliveries', 'deliveries.send_id', 'email_drafts.send_id')
      .select(['deliveries.status', 'deliveries.sent_at', 'deliveries.error_code'])
      .where('email_drafts.id', '=', draft.uid)
      .executeTakeFirst();
    if (row?.status === 'sent') return row.sent_at!.getTime() - planned.getTime();
    if (row?.status === 'failed') throw new Error(`${route} draft failed: ${row.error_code}`);
    if (performance.now() > deadline) throw new Error(`${route} draft not sent within 30 s`);
    await sleep(20);
  }
}
