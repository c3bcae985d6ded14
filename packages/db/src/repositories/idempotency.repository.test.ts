import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '@outbound/test/harness';
import {
  findIdempotencyRecord,
  purgeExpiredIdempotencyRecords,
  saveIdempotencyRecord,
  withIdempotencyLock,
} from './idempotency.repository.ts';
import { createOrganization } from './organizations.repository.ts';

describe('idempotency repository', () => {
  let database: TestDatabase;
  let organizationId: string;
  const hour = 3_600_000;

  beforeAll(async () => {
    database = await createTestDatabase();
    organizationId = (await createOrganization(database.db, 'idem')).id;
  });
  afterAll(async () => {
    await database.drop();
  });

  function save(key: string, expiresAt: Date, body: object = { ok: true }) {
    return saveIdempotencyRecord(database.db, {
      organizationId,
      key,
      scope: 'test',
      fingerprint: 'a'.repeat(64),
      responseStatus: 202,
      responseBody: body,
      expiresAt,
    });
  }

  it('finds a live record and not an expired one', async () => {
    await save('live', new Date(Date.now() + hour));
    await save('dead', new Date(Date.now() - 1));
    expect(await findIdempotencyRecord(database.db, organizationId, 'live')).toMatchObject({
      key: 'live',
      scope: 'test',
      responseStatus: 202,
      responseBody: { ok: true },
    });
    expect(await findIdempotencyRecord(database.db, organizationId, 'dead')).toBeUndefined();
  });

  it('replaces an expired record not yet purged, and refuses to overwrite a live one', async () => {
    await save('reused', new Date(Date.now() - 1), { n: 1 });
    await save('reused', new Date(Date.now() + hour), { n: 2 });
    expect(
      (await findIdempotencyRecord(database.db, organizationId, 'reused'))?.responseBody,
    ).toEqual({ n: 2 });
    await expect(save('reused', new Date(Date.now() + hour), { n: 3 })).rejects.toThrow();
  });

  it('purges expired records only, in batches', async () => {
    for (let i = 0; i < 5; i += 1) await save(`old-${i}`, new Date(Date.now() - hour));
    await save('fresh', new Date(Date.now() + hour));
    const expired = async () =>
      (
        await database.db
          .selectFrom('idempotency_records')
          .select('idempotency_key')
          .where('expires_at', '<=', new Date())
          .execute()
      ).length;
    const before = await expired();
    expect(before).toBeGreaterThanOrEqual(5);
    expect(await purgeExpiredIdempotencyRecords(database.db, { batchSize: 2 })).toBe(2);
    expect(await purgeExpiredIdempotencyRecords(database.db)).toBe(before - 2);
    expect(await expired()).toBe(0);
    expect(await findIdempotencyRecord(database.db, organizationId, 'fresh')).toBeDefined();
  });

  it('releases the lock when the transaction ends, even by failing', async () => {
    await expect(
      withIdempotencyLock(database.db, organizationId, 'lock', () =>
        Promise.reject(new Error('rolled back')),
      ),
    ).rejects.toThrow('rolled back');
    const answer = await Promise.race([
      withIdempotencyLock(database.db, organizationId, 'lock', () => Promise.resolve('acquired')),
      new Promise((resolve) => setTimeout(() => resolve('still locked'), 2_000)),
    ]);
    expect(answer).toBe('acquired');
  });
});
