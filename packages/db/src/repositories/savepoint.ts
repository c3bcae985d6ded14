import { sql } from 'kysely';
import type { Executor } from './executor.ts';

/**
 * Runs `work` inside a savepoint of the caller's transaction `trx`: if it throws, only its own
 * writes are undone (locks taken before the savepoint are kept) and the error is rethrown, so
 * one bad item of a batch does not roll back the batch.
 */
export async function withSavepoint<T>(trx: Executor, work: () => Promise<T>): Promise<T> {
  if (!trx.isTransaction) throw new Error('withSavepoint needs a transaction');
  await sql`SAVEPOINT batch_item`.execute(trx);
  try {
    const result = await work();
    await sql`RELEASE SAVEPOINT batch_item`.execute(trx);
    return result;
  } catch (error) {
    await sql`ROLLBACK TO SAVEPOINT batch_item`.execute(trx);
    throw error;
  }
}
