import {
  type Channel,
  type CredentialsCipher,
  newId,
  type Provider,
  type RateLimit,
  type SenderRole,
  type SenderStatus,
} from '@outbound/domain';
import type { Sender } from '../database.ts';
import type { Executor } from './executor.ts';

/** A sender as the rest of the system sees it: never the sealed credentials. */
export type SenderRecord = Omit<Sender, 'credentials_sealed'>;

export interface CreateSenderOptions {
  organizationId: string;
  channel: Channel;
  provider: Provider;
  name: string;
  label?: string;
  address?: string | null;
  role?: SenderRole;
  status?: SenderStatus;
  rateLimit: RateLimit;
  settings?: Record<string, unknown>;
  credentials?: Record<string, unknown>;
}

const PUBLIC_COLUMNS = [
  'id',
  'organization_id',
  'channel',
  'provider',
  'name',
  'label',
  'address',
  'role',
  'status',
  'status_reason',
  'rate_limit_max',
  'rate_limit_window_ms',
  'settings',
  'created_at',
  'updated_at',
] as const;

export async function createSender(
  db: Executor,
  cipher: CredentialsCipher,
  options: CreateSenderOptions,
): Promise<SenderRecord> {
  return db
    .insertInto('senders')
    .values({
      id: newId(),
      organization_id: options.organizationId,
      channel: options.channel,
      provider: options.provider,
      name: options.name,
      label: options.label ?? '',
      address: options.address ?? null,
      role: options.role ?? 'sending',
      status: options.status ?? 'WORKING',
      rate_limit_max: options.rateLimit.max,
      rate_limit_window_ms: options.rateLimit.window_ms,
      settings: JSON.stringify(options.settings ?? {}),
      credentials_sealed:
        options.credentials === undefined ? null : cipher.seal(options.credentials),
    })
    .returning(PUBLIC_COLUMNS)
    .executeTakeFirstOrThrow();
}

export async function listSenders(
  db: Executor,
  filter: { organizationId?: string; channel?: Channel } = {},
): Promise<SenderRecord[]> {
  let query = db.selectFrom('senders').select(PUBLIC_COLUMNS);
  if (filter.organizationId !== undefined) {
    query = query.where('organization_id', '=', filter.organizationId);
  }
  if (filter.channel !== undefined) query = query.where('channel', '=', filter.channel);
  return query.orderBy('id').execute();
}

export async function findSender(
  db: Executor,
  organizationId: string,
  senderId: string,
): Promise<SenderRecord | undefined> {
  return db
    .selectFrom('senders')
    .select(PUBLIC_COLUMNS)
    .where('organization_id', '=', organizationId)
    .where('id', '=', senderId)
    .executeTakeFirst();
}

/** The sender's credentials, opened; only the dispatcher's adapter factory should call this. */
export async function loadSenderCredentials(
  db: Executor,
  cipher: CredentialsCipher,
  senderId: string,
): Promise<Record<string, unknown> | undefined> {
  const row = await db
    .selectFrom('senders')
    .select('credentials_sealed')
    .where('id', '=', senderId)
    .executeTakeFirst();
  if (row?.credentials_sealed == null) return undefined;
  return cipher.open(row.credentials_sealed);
}

/**
 * Takes a sender out of service (`FAILED`, with the reason) when its provider said no send can
 * succeed until someone acts, e.g. an OAuth grant that was revoked. Its later deliveries then
 * fail at once with `sender_not_working` instead of each calling the provider.
 */
export async function markSenderFailed(
  db: Executor,
  ref: { organizationId: string; senderId: string; reason: string },
): Promise<void> {
  await db
    .updateTable('senders')
    .set({ status: 'FAILED', status_reason: ref.reason, updated_at: new Date() })
    .where('organization_id', '=', ref.organizationId)
    .where('id', '=', ref.senderId)
    .execute();
}
