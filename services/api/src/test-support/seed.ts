import { randomBytes } from 'node:crypto';
import {
  addGroupToSession,
  createApiKey,
  createGroup,
  createOrganization,
  createSender,
  type Db,
} from '@outbound/db';
import {
  CredentialsCipher,
  SANDBOX_RATE_LIMIT,
  type SenderRole,
  type SenderStatus,
} from '@outbound/domain';

const cipher = new CredentialsCipher(randomBytes(32).toString('base64'));

/** An organization with an API key, ready to call the API as. */
export interface SeededOrganization {
  organizationId: string;
  key: string;
  /** `Authorization` header for the key. */
  headers: Record<string, string>;
}

export async function seedOrganization(db: Db, name = 'Acme'): Promise<SeededOrganization> {
  const organization = await createOrganization(db, name);
  const { key } = await createApiKey(db, {
    organizationId: organization.id,
    actorUserId: `user-${name}`,
  });
  return { organizationId: organization.id, key, headers: { Authorization: `Bearer ${key}` } };
}

/** A sandbox WhatsApp session (WORKING sending unless told otherwise). */
export async function seedSession(
  db: Db,
  organizationId: string,
  options: { name?: string; role?: SenderRole; status?: SenderStatus } = {},
): Promise<string> {
  const session = await createSender(db, cipher, {
    organizationId,
    channel: 'whatsapp',
    provider: 'sandbox',
    name: options.name ?? 'session',
    label: `${options.name ?? 'session'} label`,
    role: options.role ?? 'sending',
    status: options.status ?? 'WORKING',
    rateLimit: SANDBOX_RATE_LIMIT,
  });
  return session.id;
}

/** Groups present in the given sessions; returns their ids in order. */
export async function seedGroups(
  db: Db,
  organizationId: string,
  sessionIds: readonly string[],
  count: number,
): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < count; i += 1) {
    const group = await createGroup(db, {
      organizationId,
      chatId: `1203630${randomBytes(5).toString('hex')}@g.us`,
      name: `group ${i}`,
    });
    for (const sessionId of sessionIds) {
      await addGroupToSession(db, { organizationId, groupId: group.id, sessionId });
    }
    ids.push(group.id);
  }
  return ids;
}
