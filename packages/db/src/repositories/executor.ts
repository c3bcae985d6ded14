import type { Kysely, Transaction } from 'kysely';
import type { Database } from '../database.ts';

/** Repository functions take either the pool or an open transaction as their first argument. */
export type Executor = Kysely<Database> | Transaction<Database>;
