import { createTestDatabase, createTestRedis, type TestDatabase } from '@outbound/test/harness';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  emailDraftRowCounts,
  emailDraftsClient,
  readDraft,
  seedEmailAccount,
  type EmailDraftBody,
} from '../test-support/email-drafts.ts';
import { readError } from '../test-support/error-body.ts';
import { seedOrganization } from '../test-support/seed.ts';
import { startTestApp, type TestApp } from '../test-support/test-app.ts';

const redis = createTestRedis();
let database: TestDatabase;
let api: TestApp;
let acme: ReturnType<typeof emailDraftsClient>;
let rival: ReturnType<typeof emailDraftsClient>;
let acmeDraft: EmailDraftBody;
let rivalAccountId: string;

beforeAll(async () => {
  database = await createTestDatabase();
  api = await startTestApp(database, redis);
  const acmeOrg = await seedOrganization(database.db, 'acme');
  const rivalOrg = await seedOrganization(database.db, 'rival');
  acme = emailDraftsClient(api.url, acmeOrg);
  rival = emailDraftsClient(api.url, rivalOrg);
  const accountId = await seedEmailAccount(database.db, acmeOrg.organizationId, 'me@acme.example');
  rivalAccountId = await seedEmailAccount(
    database.db,
    rivalOrg.organizationId,
    'them@rival.example',
  );
  const response = await acme.save({
    from_account_id: accountId,
    to: ['customer@example.com'],
    subject: 'Ours',
  });
  acmeDraft = await readDraft(response);
});

afterAll(async () => {
  await api.stop();
  await database.drop();
  await redis.clear();
});

async function expectNotFound(response: Response, uid: string): Promise<void> {
  const error = await readError(response);
  expect({ status: response.status, error: error.error }).toEqual({
    status: 404,
    error: { code: 'not_found', message: `email draft ${uid} not found`, details: { uid } },
  });
}

describe('another organization’s draft is 404 everywhere', () => {
  it('for reading, updating, sending and deleting, and nothing changes', async () => {
    const before = await emailDraftRowCounts(database.db);
    const uid = acmeDraft.uid;
    await expectNotFound(await rival.get(uid), uid);
    await expectNotFound(await rival.save({ uid, subject: 'Theirs now' }), uid);
    await expectNotFound(
      await rival.save({ uid, from_account_id: rivalAccountId, subject: 'Theirs now' }),
      uid,
    );
    await expectNotFound(await rival.send(uid), uid);
    await expectNotFound(await rival.remove(uid), uid);
    expect((await rival.list('')).status).toBe(200);
    expect(((await (await rival.list('')).json()) as { data: unknown[] }).data).toEqual([]);

    expect(await emailDraftRowCounts(database.db)).toEqual(before);
    expect(await readDraft(await acme.get(uid))).toEqual(acmeDraft);
  });

  it('as is a draft that does not exist', async () => {
    const uid = crypto.randomUUID();
    await expectNotFound(await acme.get(uid), uid);
    await expectNotFound(await acme.save({ uid, subject: 'x' }), uid);
    await expectNotFound(await acme.send(uid), uid);
    await expectNotFound(await acme.remove(uid), uid);
  });

  it('and an account of another organization cannot be moved to', async () => {
    const response = await acme.save({ uid: acmeDraft.uid, from_account_id: rivalAccountId });
    expect(response.status).toBe(404);
    expect((await readError(response)).error.details).toEqual({ from_account_id: rivalAccountId });
    expect(await readDraft(await acme.get(acmeDraft.uid))).toEqual(acmeDraft);
  });

  it('refuses a uid that is not a UUID with 400', async () => {
    const response = await acme.get('draft-uuid');
    expect(response.status).toBe(400);
    expect((await readError(response)).error.details).toMatchObject({
      issues: [{ location: 'params', path: 'uid' }],
    });
  });
});

describe('DELETE /api/email/drafts/{uid}', () => {
  it('deletes a draft and its attachments', async () => {
    const accountId = acmeDraft.from_account_id;
    const saved = await readDraft(
      await acme.save({
        from_account_id: accountId,
        attachments: [{ filename: 'a.txt', content_type: 'text/plain', data_base64: 'YQ==' }],
      }),
    );
    const response = await acme.remove(saved.uid);
    expect(response.status).toBe(204);
    expect(await response.text()).toBe('');
    expect((await acme.get(saved.uid)).status).toBe(404);
    const left = await database.db
      .selectFrom('email_draft_attachments')
      .select('id')
      .where('draft_id', '=', saved.uid)
      .execute();
    expect(left).toEqual([]);
  });
});
