import { createTestDatabase, createTestRedis, type TestDatabase } from '@outbound/test/harness';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readError } from '../test-support/error-body.ts';
import { REFERENCE_CREATE_REQUEST } from '../test-support/message-drafts.ts';
import { callAs, seedSecurityTenant, type SecurityTenant } from '../test-support/security-world.ts';
import { changedTables, tableFingerprint } from '../test-support/table-fingerprint.ts';
import { startTestApp, type TestApp } from '../test-support/test-app.ts';

/**
 * Email header injection: CR, LF and NUL in any field that ends up in a mail header (subject,
 * addresses, recipient names, attachment file names and types) are refused with 400 naming the
 * field, for email drafts (create and update) and message drafts, and nothing is written;
 * attachment file names with path separators are refused too.
 */
const BREAKS = [
  ['CR LF', '\r\nBcc: victim@example.com'],
  ['LF', '\nBcc: victim@example.com'],
  ['CR', '\rBcc: victim@example.com'],
  ['NUL', '\u0000Bcc: victim@example.com'],
] as const;

const redis = createTestRedis();
let database: TestDatabase;
let api: TestApp;
let tenant: SecurityTenant;

beforeAll(async () => {
  database = await createTestDatabase();
  api = await startTestApp(database, redis);
  tenant = await seedSecurityTenant(database.db, api.url, api.config, 'headers');
}, 60_000);

afterAll(async () => {
  await api.stop();
  await database.drop();
  await redis.clear();
});

/** Posts `body`, expects a 400 naming `path`, and checks nothing was written. */
async function expectRefused(target: string, body: unknown, path: string): Promise<void> {
  const before = await tableFingerprint(database.db);
  const response = await callAs(api.url, tenant, 'POST', target, body);
  const error = await readError(response);
  expect(response.status, JSON.stringify(error)).toBe(400);
  expect(error.error.code).toBe('validation_failed');
  const issues = error.error.details?.issues as { path: string }[];
  expect(issues.map((issue) => issue.path)).toContain(path);
  expect(changedTables(before, await tableFingerprint(database.db))).toEqual([]);
}

const attachment = (fields: Record<string, string>) => ({
  filename: 'quote.pdf',
  content_type: 'application/pdf',
  data_base64: 'aGk=',
  ...fields,
});

/** Email draft fields that become headers, each set to `text` with a line break inside. */
function emailDraftCases(text: string): [string, Record<string, unknown>][] {
  return [
    ['subject', { subject: `Quote${text}` }],
    ['to.0', { to: [`ada@example.com${text}`] }],
    ['cc.1', { cc: ['grace@example.com', `${text}ada@example.com`] }],
    ['bcc.0', { bcc: [`ada@example.com${text}`] }],
    ['attachments.0.filename', { attachments: [attachment({ filename: `quote${text}.pdf` })] }],
    [
      'attachments.0.content_type',
      { attachments: [attachment({ content_type: `application/pdf${text}` })] },
    ],
  ];
}

describe('email drafts', () => {
  it.each(BREAKS)(
    'refuses %s in every header-bound field, on create and on update',
    async (_, text) => {
      for (const [path, fields] of emailDraftCases(text)) {
        await expectRefused(
          '/api/email/drafts',
          { from_account_id: tenant.emailAccountId, to: ['ada@example.com'], ...fields },
          path,
        );
        await expectRefused('/api/email/drafts', { uid: tenant.emailDraftUid, ...fields }, path);
      }
    },
  );

  it.each([
    ['a slash', '../../etc/passwd'],
    ['a backslash', '..\\..\\windows\\win.ini'],
    ['a bare slash', 'quotes/2026.pdf'],
    ['a drive path', 'C:\\quote.pdf'],
    ['two dots', '..'],
  ])('refuses an attachment file name with %s', async (_, filename) => {
    await expectRefused(
      '/api/email/drafts',
      { uid: tenant.emailDraftUid, attachments: [attachment({ filename })] },
      'attachments.0.filename',
    );
  });

  it('refuses addresses with a display name or several addresses in one', async () => {
    for (const address of [
      'Ada <ada@example.com>',
      'ada@example.com, eve@example.com',
      'ada@example.com;eve@example.com',
      '"ada@example.com"@evil.example',
    ]) {
      await expectRefused(
        '/api/email/drafts',
        { uid: tenant.emailDraftUid, to: [address] },
        'to.0',
      );
    }
  });

  it('still saves the same fields without the line breaks (the baseline)', async () => {
    const response = await callAs(api.url, tenant, 'POST', '/api/email/drafts', {
      uid: tenant.emailDraftUid,
      subject: 'Quote',
      to: ['ada@example.com'],
      attachments: [attachment({})],
    });
    expect(response.status).toBe(200);
  });
});

describe('message drafts', () => {
  const target = () => `/api/v2/organizations/${tenant.organizationId}/message-drafts`;

  it.each(BREAKS)('refuses %s in every header-bound field', async (_, text) => {
    const cases: [string, Record<string, unknown>][] = [
      ['subject', { subject: `Quote${text}` }],
      ['to_user_name', { to_user_name: `Diana${text}` }],
      ['to_email', { to_email: `diana@example.com${text}` }],
      ['cc_emails.0', { cc_emails: [`steve@example.com${text}`] }],
      ['bcc_emails.0', { bcc_emails: [`${text}steve@example.com`] }],
    ];
    for (const [path, fields] of cases) {
      await expectRefused(target(), { ...REFERENCE_CREATE_REQUEST, ...fields }, path);
    }
  });

  it('still creates the reference draft (the baseline)', async () => {
    const response = await callAs(api.url, tenant, 'POST', target(), REFERENCE_CREATE_REQUEST);
    expect(response.status).toBe(201);
  });
});
