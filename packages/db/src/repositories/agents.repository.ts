import type { Selectable } from 'kysely';
import type { AgentsTable } from '../database.ts';
import type { Executor } from './executor.ts';

/** A member of an organization's team: the author or target of conversation drafts. */
export type Agent = Selectable<AgentsTable>;

export interface CreateAgentOptions {
  organizationId: string;
  /** Stored as given; unique within the organization (a second one is a unique violation). */
  email: string;
  name?: string;
}

export async function createAgent(db: Executor, options: CreateAgentOptions): Promise<Agent> {
  return db
    .insertInto('agents')
    .values({
      organization_id: options.organizationId,
      email: options.email,
      name: options.name ?? '',
    })
    .returningAll()
    .executeTakeFirstOrThrow();
}

/** The organization's agents, oldest first. */
export async function listAgents(db: Executor, organizationId: string): Promise<Agent[]> {
  return db
    .selectFrom('agents')
    .selectAll()
    .where('organization_id', '=', organizationId)
    .orderBy('id')
    .execute();
}

/** The organization's agent with this id, or undefined (also for another organization's). */
export async function findAgent(
  db: Executor,
  organizationId: string,
  agentId: number,
): Promise<Agent | undefined> {
  return db
    .selectFrom('agents')
    .selectAll()
    .where('organization_id', '=', organizationId)
    .where('id', '=', agentId)
    .executeTakeFirst();
}

/**
 * The organization's agent with this email address, compared without regard to case (as mail
 * systems compare them in practice), or undefined.
 */
export async function findAgentByEmail(
  db: Executor,
  organizationId: string,
  email: string,
): Promise<Agent | undefined> {
  return db
    .selectFrom('agents')
    .selectAll()
    .where('organization_id', '=', organizationId)
    .where((eb) => eb(eb.fn('lower', ['email']), '=', eb.fn('lower', [eb.val(email)])))
    .orderBy('id')
    .limit(1)
    .executeTakeFirst();
}
