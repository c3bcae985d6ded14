import { CredentialsCipher } from '@outbound/domain';
import {
  addGroupToSession,
  createApiKey,
  createGroup,
  createOrganization,
  createSender,
  type Db,
} from '@outbound/db';

/** An organization with an API key and a sandbox WhatsApp session holding `groups` groups. */
export interface SandboxFixture {
  organizationId: string;
  apiKey: string;
  sessionId: string;
  groupIds: string[];
  /** Headers for a JSON request with the fixture's key. */
  headers: Record<string, string>;
}

export interface SandboxFixtureOptions {
  name: string;
  groups: number;
  /**
   * The session's rate limit per second. Far above what the machine can do by default, so
   * figures measure the pipeline, not the limiter.
   */
  perSecond?: number;
}

/** Sandbox sessions hold no credentials, so any key will do. */
const unusedCipher = new CredentialsCipher(Buffer.alloc(32, 7).toString('base64'));

/** Writes the fixture straight to the database, as the CLI's commands would. */
export async function seedSandboxFixture(
  db: Db,
  options: SandboxFixtureOptions,
): Promise<SandboxFixture> {
  const organization = await createOrganization(db, options.name);
  const { key } = await createApiKey(db, {
    organizationId: organization.id,
    actorUserId: `${options.name}-actor`,
  });
  const session = await createSender(db, unusedCipher, {
    organizationId: organization.id,
    channel: 'whatsapp',
    provider: 'sandbox',
    name: `${options.name} session`,
    rateLimit: { max: options.perSecond ?? 1_000_000, window_ms: 1_000 },
  });
  const groupIds: string[] = [];
  for (let i = 0; i < options.groups; i += 1) {
    const group = await createGroup(db, {
      organizationId: organization.id,
      chatId: `${options.name}-${i}@g.us`,
    });
    await addGroupToSession(db, {
      organizationId: organization.id,
      groupId: group.id,
      sessionId: session.id,
    });
    groupIds.push(group.id);
  }
  return {
    organizationId: organization.id,
    apiKey: key,
    sessionId: session.id,
    groupIds,
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
  };
}
