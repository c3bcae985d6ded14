import type { Redis } from 'ioredis';
import { createLogger, loadConfig, type Logger } from '@outbound/config';
import {
  createDb,
  createEmailDraft,
  createOrganization,
  createSender,
  type Db,
  type EmailDraftChanges,
  lockEmailDraft,
  updateEmailDraft,
} from '@outbound/db';
import { SANDBOX_RATE_LIMIT } from '@outbound/domain';
import { closeQueues, createQueues, createWorkerConnection, type Queues } from '@outbound/queue';
import {
  createTestDatabase,
  createTestRedis,
  testEnv,
  type TestDatabase,
} from '@outbound/test/harness';
import { captureLogs, type LogLine, testCipher } from './fixtures.ts';

/** One test file's database, Redis prefix, queues and a logger whose lines it keeps. */
export interface EmailDraftsTestContext {
  database: TestDatabase;
  db: Db;
  queues: Queues;
  logger: Logger;
  logs: LogLine[];
  /** A new pool on the file's database (a dispatcher of its own); closed by `close`. */
  newDb(poolMax?: number): Db;
  close(): Promise<void>;
}

export async function openEmailDraftsTestContext(): Promise<EmailDraftsTestContext> {
  const database = await createTestDatabase();
  const redis = createTestRedis();
  const connection: Redis = createWorkerConnection({ url: redis.url, connectionName: 'drafts' });
  const queues = createQueues({ connection, prefix: redis.prefix });
  const config = loadConfig(testEnv(database, redis, { LOG_LEVEL: 'info' }));
  const { destination, lines: logs } = captureLogs();
  const pools: Db[] = [];
  return {
    database,
    db: database.db,
    queues,
    logger: createLogger(config, { name: 'dispatcher', destination }),
    logs,
    newDb(poolMax = 3) {
      const db = createDb({ connectionString: database.url, poolMax });
      pools.push(db);
      return db;
    },
    async close() {
      await Promise.all(pools.map((db) => db.destroy()));
      await closeQueues(queues);
      connection.disconnect();
      await redis.clear();
      await database.drop();
    },
  };
}

/** An email account (sandbox, sending) in a new organization. */
export interface SeededEmailAccount {
  organizationId: string;
  accountId: string;
  address: string;
}

export async function seedEmailAccount(
  db: Db,
  address = 'sender@acme.example',
): Promise<SeededEmailAccount> {
  const organization = await createOrganization(db, 'Email drafts test');
  const account = await createSender(db, testCipher, {
    organizationId: organization.id,
    channel: 'email',
    provider: 'sandbox',
    name: 'mailbox',
    address,
    rateLimit: SANDBOX_RATE_LIMIT,
  });
  return { organizationId: organization.id, accountId: account.id, address };
}

/** A draft of the account that can be sent (one To address and a subject) unless told. */
export function seedEmailDraft(
  db: Db,
  account: SeededEmailAccount,
  changes: EmailDraftChanges = {},
): Promise<string> {
  return createEmailDraft(db, account.organizationId, {
    fromAccountId: account.accountId,
    to: ['customer@example.com'],
    subject: 'Scheduled hello',
    ...changes,
  });
}

/** Saves changes to a draft as the API does: under its lock. */
export function saveEmailDraft(
  db: Db,
  organizationId: string,
  id: string,
  changes: EmailDraftChanges,
): Promise<void> {
  return db.transaction().execute(async (trx) => {
    const locked = await lockEmailDraft(trx, organizationId, id);
    if (locked === undefined) throw new Error(`no draft ${id}`);
    await updateEmailDraft(trx, locked, changes);
  });
}

/** Send ids of the drafts, by draft id (null when not dispatched). */
export async function sendIdsOf(
  db: Db,
  ids: readonly string[],
): Promise<Map<string, string | null>> {
  const rows = await db
    .selectFrom('email_drafts')
    .select(['id', 'send_id'])
    .where('id', 'in', [...ids])
    .execute();
  return new Map(rows.map((row) => [row.id, row.send_id]));
}
