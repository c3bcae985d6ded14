import { createOrganization } from '@outbound/db';
import { createTestDatabase, type TestDatabase } from '@outbound/test/harness';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import { AppError } from '../errors/app-error.ts';
import { findReplay, runIdempotent, type IdempotencyScope } from './run-idempotent.ts';

let database: TestDatabase;
let organizationId: string;

beforeAll(async () => {
  database = await createTestDatabase();
  organizationId = (await createOrganization(database.db, 'idem')).id;
});

afterAll(async () => {
  await database.drop();
});

const answerSchema = z.object({ n: z.number() });

function scope(key: string, fingerprint = 'f1'): IdempotencyScope {
  return { organizationId, key, scope: 'test', fingerprint };
}

function run(key: string, work: () => { n: number } | Promise<{ n: number }>, fingerprint = 'f1') {
  return runIdempotent({
    ...scope(key, fingerprint),
    db: database.db,
    ttlHours: 24,
    schema: answerSchema,
    work: async () => ({ status: 201, body: await work() }),
  });
}

/** Advisory locks held (`granted`) or waited for right now (pg_locks is not in `Database`). */
async function advisoryLocks(granted: boolean): Promise<number> {
  const row = await database.db
    .selectFrom('pg_locks' as never)
    .select((eb) => eb.fn.countAll<string>().as('n'))
    .where('locktype' as never, '=', 'advisory' as never)
    .where('granted' as never, '=', granted as never)
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

describe('runIdempotent', () => {
  it('runs the work once and replays its answer', async () => {
    const work = vi.fn(() => ({ n: 1 }));
    expect(await run('once', work)).toEqual({ replayed: false, status: 201, body: { n: 1 } });
    expect(await run('once', work)).toEqual({ replayed: true, status: 201, body: { n: 1 } });
    expect(work).toHaveBeenCalledTimes(1);
    expect(await findReplay(database.db, scope('once'), answerSchema)).toEqual({
      replayed: true,
      status: 201,
      body: { n: 1 },
    });
  });

  it('makes a concurrent duplicate wait for the first to commit, then replays it', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const secondWork = vi.fn(() => ({ n: 2 }));
    const first = run('wait', async () => {
      await gate;
      return { n: 1 };
    });
    // Let the first take the lock, then start the second and see it block on that lock.
    await vi.waitFor(async () => expect(await advisoryLocks(true)).toBe(1));
    const second = run('wait', secondWork);
    await vi.waitFor(async () => expect(await advisoryLocks(false)).toBe(1));
    release();
    expect(await first).toEqual({ replayed: false, status: 201, body: { n: 1 } });
    expect(await second).toEqual({ replayed: true, status: 201, body: { n: 1 } });
    expect(secondWork).not.toHaveBeenCalled();
  });

  it('answers a different fingerprint with idempotency_key_reused', async () => {
    await run('conflict', () => ({ n: 1 }));
    const error = await run('conflict', () => ({ n: 2 }), 'f2').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AppError);
    expect(error).toMatchObject({ code: 'idempotency_key_reused', status: 409 });
    await expect(findReplay(database.db, scope('conflict', 'f2'), answerSchema)).rejects.toThrow(
      /already used for a different request/,
    );
  });

  it('stores nothing when the work fails, so the key can be used again', async () => {
    await expect(
      run('fails', () => {
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    expect(await findReplay(database.db, scope('fails'), answerSchema)).toBeUndefined();
    expect(await run('fails', () => ({ n: 3 }))).toMatchObject({ replayed: false });
  });

  it('does not replay an expired record', async () => {
    await run('expired', () => ({ n: 1 }));
    await database.db
      .updateTable('idempotency_records')
      .set({ expires_at: new Date(Date.now() - 1) })
      .where('idempotency_key', '=', 'expired')
      .execute();
    expect(await findReplay(database.db, scope('expired'), answerSchema)).toBeUndefined();
    expect(await run('expired', () => ({ n: 2 }))).toEqual({
      replayed: false,
      status: 201,
      body: { n: 2 },
    });
  });
});
