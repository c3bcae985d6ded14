import { newId } from '@outbound/domain';
import type { Group } from '../database.ts';
import type { Executor } from './executor.ts';

export interface CreateGroupOptions {
  organizationId: string;
  chatId: string;
  name?: string;
}

export async function createGroup(db: Executor, options: CreateGroupOptions): Promise<Group> {
  return db
    .insertInto('groups')
    .values({
      id: newId(),
      organization_id: options.organizationId,
      chat_id: options.chatId,
      name: options.name ?? '',
    })
    .returningAll()
    .executeTakeFirstOrThrow();
}

/** Marks a group present in a session; both must belong to the organization (the FKs say so). */
export async function addGroupToSession(
  db: Executor,
  options: { organizationId: string; groupId: string; sessionId: string },
): Promise<void> {
  await db
    .insertInto('group_sessions')
    .values({
      organization_id: options.organizationId,
      group_id: options.groupId,
      session_id: options.sessionId,
    })
    .onConflict((oc) => oc.columns(['session_id', 'group_id']).doNothing())
    .execute();
}

export async function findGroup(db: Executor, id: string): Promise<Group | undefined> {
  return db.selectFrom('groups').selectAll().where('id', '=', id).executeTakeFirst();
}

export type GroupWithSessions = Group & { session_ids: string[] };

export async function listGroups(
  db: Executor,
  filter: { organizationId?: string; sessionId?: string } = {},
): Promise<GroupWithSessions[]> {
  let query = db
    .selectFrom('groups')
    .leftJoin('group_sessions', 'group_sessions.group_id', 'groups.id')
    .selectAll('groups')
    .select((eb) =>
      eb.fn
        .coalesce(
          eb.fn
            .agg<string[]>('array_agg', ['group_sessions.session_id'])
            .filterWhere('group_sessions.session_id', 'is not', null),
          eb.val<string[]>([]),
        )
        .as('session_ids'),
    )
    .groupBy('groups.id');
  if (filter.organizationId !== undefined) {
    query = query.where('groups.organization_id', '=', filter.organizationId);
  }
  if (filter.sessionId !== undefined) {
    const sessionId = filter.sessionId;
    query = query.where((eb) =>
      eb.exists(
        eb
          .selectFrom('group_sessions as presence')
          .select('presence.group_id')
          .whereRef('presence.group_id', '=', 'groups.id')
          .where('presence.session_id', '=', sessionId),
      ),
    );
  }
  return query.orderBy('groups.id').execute();
}
