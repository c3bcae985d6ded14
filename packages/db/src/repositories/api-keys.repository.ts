import { apiKeyMatches, apiKeyPrefix, generateApiKey, newId } from '@outbound/domain';
import type { ApiKey } from '../database.ts';
import type { Executor } from './executor.ts';

export type ApiKeySummary = Omit<ApiKey, 'key_hash'>;

/** Every column but the hash, which never leaves this module. */
const SUMMARY_COLUMNS = [
  'id',
  'organization_id',
  'actor_user_id',
  'name',
  'prefix',
  'created_at',
  'last_used_at',
  'revoked_at',
] as const;

export interface CreateApiKeyOptions {
  organizationId: string;
  actorUserId: string;
  name?: string;
}

/** Creates a key; the returned `key` is the only time the secret exists outside the caller. */
export async function createApiKey(
  db: Executor,
  options: CreateApiKeyOptions,
): Promise<{ key: string; record: ApiKeySummary }> {
  const generated = generateApiKey();
  const record = await db
    .insertInto('api_keys')
    .values({
      id: newId(),
      organization_id: options.organizationId,
      actor_user_id: options.actorUserId,
      name: options.name ?? '',
      prefix: generated.prefix,
      key_hash: generated.hash,
    })
    .returning(SUMMARY_COLUMNS)
    .executeTakeFirstOrThrow();
  return { key: generated.key, record };
}

export interface AuthenticatedKey {
  apiKeyId: string;
  organizationId: string;
  actorUserId: string;
}

/** The key's owner when the key is well-formed, known, matches its hash and is not revoked. */
export async function authenticateApiKey(
  db: Executor,
  key: string,
): Promise<AuthenticatedKey | undefined> {
  const prefix = apiKeyPrefix(key);
  if (prefix === undefined) return undefined;
  const row = await db
    .selectFrom('api_keys')
    .select(['id', 'organization_id', 'actor_user_id', 'key_hash', 'revoked_at'])
    .where('prefix', '=', prefix)
    .executeTakeFirst();
  if (row === undefined || row.revoked_at !== null || !apiKeyMatches(key, row.key_hash)) {
    return undefined;
  }
  return { apiKeyId: row.id, organizationId: row.organization_id, actorUserId: row.actor_user_id };
}

/** Revokes a key by id or by its clear prefix. Returns false when no live key matched. */
export async function revokeApiKey(db: Executor, idOrPrefix: string): Promise<boolean> {
  const result = await db
    .updateTable('api_keys')
    .set({ revoked_at: new Date() })
    .where((eb) =>
      eb.and([
        eb('revoked_at', 'is', null),
        isUuidLike(idOrPrefix) ? eb('id', '=', idOrPrefix) : eb('prefix', '=', idOrPrefix),
      ]),
    )
    .executeTakeFirst();
  return result.numUpdatedRows > 0n;
}

export async function listApiKeys(db: Executor, organizationId?: string): Promise<ApiKeySummary[]> {
  let query = db.selectFrom('api_keys').select(SUMMARY_COLUMNS);
  if (organizationId !== undefined) query = query.where('organization_id', '=', organizationId);
  return query.orderBy('id').execute();
}

function isUuidLike(value: string): boolean {
  return /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(value);
}
