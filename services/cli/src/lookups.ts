import {
  type Executor,
  findOrganization,
  findSender,
  type Organization,
  type SenderRecord,
} from '@outbound/db';
import { failure, usageError } from './cli-error.ts';

export async function requireOrganization(db: Executor, id: string): Promise<Organization> {
  const organization = await findOrganization(db, id);
  if (organization === undefined) throw failure(`organization ${id} not found`);
  return organization;
}

/** A WhatsApp sender of the organization, the only kind of sender a group can be present in. */
export async function requireWhatsappSession(
  db: Executor,
  organizationId: string,
  sessionId: string,
): Promise<SenderRecord> {
  const session = await findSender(db, organizationId, sessionId);
  if (session === undefined) {
    throw failure(`session ${sessionId} not found in organization ${organizationId}`);
  }
  if (session.channel !== 'whatsapp') {
    throw usageError(
      `sender ${sessionId} is on the ${session.channel} channel; groups live in WhatsApp sessions`,
    );
  }
  return session;
}
