import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import type { Database } from './database.ts';

export type Db = Kysely<Database>;

export interface DatabaseOptions {
  connectionString: string;
  poolMax?: number;
  /** Fail a connection attempt after this long instead of waiting for the OS to give up. */
  connectTimeoutMs?: number;
  applicationName?: string;
}

const INT8_OID = 20;

/**
 * bigint columns here are identities, counts and millisecond intervals, all far below 2^53,
 * so they are read as numbers rather than pg's default strings.
 */
const typeParsers = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary'): unknown =>
    oid === INT8_OID
      ? (value: string) => Number(value)
      : (pg.types.getTypeParser(oid, format) as unknown)) as typeof pg.types.getTypeParser,
};

export function createPool(options: DatabaseOptions): pg.Pool {
  return new pg.Pool({
    connectionString: options.connectionString,
    max: options.poolMax ?? 10,
    connectionTimeoutMillis: options.connectTimeoutMs ?? 5_000,
    application_name: options.applicationName ?? 'outbound',
    types: typeParsers,
  });
}

export function createDb(options: DatabaseOptions): Db {
  const pool = createPool(options);
  // A client whose server went away emits 'error': on the pool while idle, on the client
  // itself while checked out between queries (inside a transaction). Without a listener either
  // would crash the process instead of failing the query in progress or the next one.
  pool.on('error', () => {});
  pool.on('connect', (client) => client.on('error', () => {}));
  return new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
}

/** True when the database answers a trivial query. */
export async function pingDatabase(db: Db): Promise<void> {
  await db.selectNoFrom((eb) => eb.val(1).as('one')).execute();
}
