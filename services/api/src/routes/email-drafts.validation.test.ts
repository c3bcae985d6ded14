import { createTestDatabase, createTestRedis, type TestDatabase } from '@outbound/test/harness';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  emailDraftRowCounts,
  emailDraftsClient,
  readDraft,
  seedEmailAccount,
} from '../test-support/email-drafts.ts';
import { readError } from '../test-support/error-body.ts';
import { seedOrganization } from '../test-support/seed.ts';
import { startTestApp, type TestApp } from '../test-support/test-app.ts';

/** Small enough to exceed in a test, large enough for the files that must pass. */
const MAX_ATTACHMENT_BYTES = 1_000;

const redis = createTestRedis();
let database: TestDatabase;
let api: TestApp;
let client: ReturnType<typeof emailDraftsClient>;
let accountId: string;
let existingUid: string;

beforeAll(async () => {
  database = await createTestDatabase();
  api = await startTestApp(database, redis, {
    env: { EMAIL_MAX_ATTACHMENT_BYTES: String(MAX_ATTACHMENT_BYTES), JSON_BODY_LIMIT: '16kb' },
  });
  const acme = await seedOrganization(database.db, 'acme');
  client = emailDraftsClient(api.url, acme);
  accountId = await seedEmailAccount(database.db, acme.organizationId, 'sender@mycompany.com');
  const response = await client.save({
    from_account_id: accountId,
    to: ['kept@example.com'],
    subject: 'Kept',
    attachments: [{ filename: 'kept.txt', content_type: 'text/plain', data_base64: 'a2VwdA==' }],
  });
  existingUid = (await readDraft(response)).uid;
});

afterAll(async () => {
  await api.stop();
  await database.drop();
  await redis.clear();
});

interface Issue {
  path: string;
  code: string;
  message: string;
}

/**
 * Saves `fields` as a create (with the account) and as an update of the existing draft, and
 * expects both refused with `status` and `code`, with no row written or changed anywhere.
 */
async function expectRefused(
  fields: Record<string, unknown>,
  status: number,
  code: string,
): Promise<{ message: string; issues: Issue[] }> {
  const before = await emailDraftRowCounts(database.db);
  const draftBefore = await (await client.get(existingUid)).json();
  let last: { message: string; details: Record<string, unknown> | null } | undefined;
  for (const body of [
    { from_account_id: accountId, ...fields },
    { uid: existingUid, ...fields },
  ]) {
    const response = await client.save(body);
    const error = await readError(response);
    expect({ status: response.status, code: error.error.code }).toEqual({ status, code });
    last = error.error;
  }
  expect(await emailDraftRowCounts(database.db)).toEqual(before);
  expect(await (await client.get(existingUid)).json()).toEqual(draftBefore);
  return {
    message: last?.message ?? '',
    issues: (last?.details?.issues ?? []) as Issue[],
  };
}

const base64Of = (bytes: number): string => Buffer.alloc(bytes, 1).toString('base64');

describe('POST /api/email/drafts: refused input changes nothing', () => {
  it('names a bad address by its place in the list, and the address itself', async () => {
    const { issues, message } = await expectRefused(
      { to: ['ok@example.com', 'not-an-address'], bcc: ['fine@example.com', 'x@', 'a@b'] },
      400,
      'validation_failed',
    );
    expect(issues.map((issue) => issue.path)).toEqual(['to.1', 'bcc.1', 'bcc.2']);
    expect(issues[0]?.message).toBe('not a valid email address: "not-an-address"');
    expect(message).toContain('body.to.1: not a valid email address: "not-an-address"');
  });

  it('refuses line breaks in header-bound fields: subject and addresses', async () => {
    const subject = await expectRefused(
      { subject: 'Hello\r\nBcc: victim@example.com' },
      400,
      'validation_failed',
    );
    expect(subject.issues).toMatchObject([
      {
        path: 'subject',
        message: 'subject must not contain line breaks (CR or LF): it becomes a header',
      },
    ]);
    await expectRefused({ subject: 'only LF\n' }, 400, 'validation_failed');
    const address = await expectRefused(
      { cc: ['a@example.com\r\nBcc: victim@example.com'] },
      400,
      'validation_failed',
    );
    expect(address.issues.map((issue) => issue.path)).toEqual(['cc.0']);
  });

  it('refuses an attachment that is not valid base64', async () => {
    for (const data of ['not base64!', 'YQ', 'YQ==\n', 'YWJj ZGVm']) {
      const { issues } = await expectRefused(
        { attachments: [{ filename: 'a.txt', content_type: 'text/plain', data_base64: data }] },
        400,
        'validation_failed',
      );
      expect(issues).toMatchObject([
        {
          path: 'attachments.0.data_base64',
          message: 'data_base64 is not valid base64 (RFC 4648, padded, no line breaks)',
        },
      ]);
    }
  });

  it.each([
    ['a path', '../../etc/passwd', 'must not contain a path separator'],
    ['a Windows path', 'C:\\Windows\\evil.exe', 'must not contain a path separator'],
    ['two dots', '..', 'must not contain ".."'],
    ['a control character', 'in\u0000voice.pdf', 'must not contain control characters'],
    ['a line break', 'a\r\nX-Evil: 1.txt', 'must not contain control characters'],
    ['a bidi override', 'invoice\u202Efdp.exe', 'must not contain control characters'],
    ['nothing', '', 'filename must not be empty'],
    ['only spaces', '   ', 'filename must not be empty'],
  ])('refuses a filename with %s', async (_, filename, problem) => {
    const { issues } = await expectRefused(
      { attachments: [{ filename, content_type: 'text/plain', data_base64: 'YQ==' }] },
      400,
      'validation_failed',
    );
    expect(issues.map((issue) => issue.path)).toEqual(['attachments.0.filename']);
    expect(issues[0]?.message).toContain(problem);
  });

  it('refuses a content type that is not a MIME type', async () => {
    const { issues } = await expectRefused(
      {
        attachments: [
          { filename: 'a.txt', content_type: 'text/plain\r\nX-Evil: 1', data_base64: 'YQ==' },
        ],
      },
      400,
      'validation_failed',
    );
    expect(issues.map((issue) => issue.path)).toEqual(['attachments.0.content_type']);
  });

  it('answers 413 when the decoded attachments exceed EMAIL_MAX_ATTACHMENT_BYTES', async () => {
    const file = (name: string, bytes: number) => ({
      filename: name,
      content_type: 'application/octet-stream',
      data_base64: base64Of(bytes),
    });
    const response = await client.save({
      from_account_id: accountId,
      attachments: [file('a.bin', 600), file('b.bin', 400)],
    });
    expect(response.status).toBe(201);

    const before = await emailDraftRowCounts(database.db);
    const refused = await client.save({
      from_account_id: accountId,
      attachments: [file('a.bin', 600), file('b.bin', 401)],
    });
    expect(refused.status).toBe(413);
    expect((await readError(refused)).error).toEqual({
      code: 'payload_too_large',
      message: 'attachments total 1001 bytes once decoded; at most 1000 are accepted',
      details: { limit_bytes: 1_000, size_bytes: 1_001 },
    });
    await expectRefused({ attachments: [file('a.bin', 1_001)] }, 413, 'payload_too_large');
    expect(await emailDraftRowCounts(database.db)).toEqual(before);
  });

  it('takes bodies larger than JSON_BODY_LIMIT on this route only, within its own limit', async () => {
    // Over JSON_BODY_LIMIT (16 kB), under it plus the base64 of 1000 bytes.
    const big = 'x'.repeat(17_000);
    const response = await client.save({ from_account_id: accountId, body_text: big });
    expect(response.status).toBe(201);
    expect((await readDraft(response)).body_text).toBe(big);
    const elsewhere = await fetch(`${api.url}/v2/outbound/drafts`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ text: big }),
    });
    expect(elsewhere.status).toBe(413);
    // Over 16 kB + the base64 of 1000 bytes, the parser itself refuses.
    const before = await emailDraftRowCounts(database.db);
    const huge = await client.save({ from_account_id: accountId, body_text: 'x'.repeat(40_000) });
    expect(huge.status).toBe(413);
    expect((await readError(huge)).error.code).toBe('payload_too_large');
    expect(await emailDraftRowCounts(database.db)).toEqual(before);
  });

  it('names unknown fields, as elsewhere', async () => {
    const { issues } = await expectRefused(
      { subject: 'ok', body: 'wrong name', from_email: 'x@example.com' },
      400,
      'validation_failed',
    );
    expect(issues).toMatchObject([{ path: '', code: 'unrecognized_keys' }]);
    expect(issues[0]?.message).toMatch(/"body".*"from_email"/);
  });

  it('refuses bad times, ids and empty context types', async () => {
    const { issues } = await expectRefused(
      {
        planned_send_at: '2024-03-26 09:00',
        context_id: 'invoice-uuid',
        context_type: '',
        body_text: 'nul \u0000 here',
      },
      400,
      'validation_failed',
    );
    expect(issues.map((issue) => issue.path).sort()).toEqual([
      'body_text',
      'context_id',
      'context_type',
      'planned_send_at',
    ]);
    await expectRefused({ planned_send_at: '2024-03-26T09:00:00' }, 400, 'validation_failed');
  });

  it('refuses a planned_send_at before 2000 or after 9999, and keeps the bounds themselves', async () => {
    for (const planned of [
      '0000-01-01T00:00:00Z',
      '0001-01-01T00:00:00Z',
      '1970-01-01T00:00:00Z',
      '1999-12-31T23:59:59.999Z',
      '2000-01-01T00:30:00+01:00',
      '9999-12-31T23:59:59-05:00',
    ]) {
      const { message, issues } = await expectRefused(
        { planned_send_at: planned },
        400,
        'validation_failed',
      );
      expect(
        issues.map((issue) => issue.path),
        planned,
      ).toEqual(['planned_send_at']);
      expect(message).toContain('between 2000-01-01T00:00:00.000Z and 9999-12-31T23:59:59.999Z');
    }
    for (const planned of ['2000-01-01T00:00:00Z', '9999-12-31T23:59:59.999Z']) {
      const response = await client.save({ from_account_id: accountId, planned_send_at: planned });
      expect(response.status, planned).toBe(201);
      const draft = await readDraft(response);
      expect(new Date(draft.planned_send_at!).toISOString()).toBe(new Date(planned).toISOString());
    }
  });

  it('requires from_account_id to create, listing it with every other problem', async () => {
    const before = await emailDraftRowCounts(database.db);
    const response = await client.save({ to: ['bad'] });
    const error = await readError(response);
    expect(response.status).toBe(400);
    expect(
      ((error.error.details?.issues ?? []) as Issue[]).map((issue) => issue.path).sort(),
    ).toEqual(['from_account_id', 'to.0']);
    expect(error.error.message).toContain(
      'from_account_id is required to create a draft (a request without uid)',
    );
    const malformed = await client.save('{"from_account_id": ');
    expect((await readError(malformed)).error.code).toBe('malformed_json');
    expect(await emailDraftRowCounts(database.db)).toEqual(before);
  });
});
