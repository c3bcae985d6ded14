import type { Executor } from './executor.ts';

/** A group as a send to it needs it: its id and the chat the provider posts to. */
export interface SessionGroup {
  id: string;
  chat_id: string;
}

/**
 * Those of `groupIds` that are groups of the organization present in the session, in the
 * order asked. Ids that are unknown, another organization's or absent from the session are
 * simply missing from the answer.
 */
export async function findGroupsInSession(
  db: Executor,
  options: { organizationId: string; sessionId: string; groupIds: readonly string[] },
): Promise<SessionGroup[]> {
  if (options.groupIds.length === 0) return [];
  const rows = await db
    .selectFrom('groups')
    .innerJoin('group_sessions', (join) =>
      join
        .onRef('group_sessions.group_id', '=', 'groups.id')
        .onRef('group_sessions.organization_id', '=', 'groups.organization_id'),
    )
    .select(['groups.id', 'groups.chat_id'])
    .where('groups.organization_id', '=', options.organizationId)
    .where('group_sessions.session_id', '=', options.sessionId)
    .where('groups.id', 'in', [...options.groupIds])
    .execute();
  const byId = new Map(rows.map((row) => [row.id, row]));
  return options.groupIds.flatMap((id) => {
    const row = byId.get(id);
    return row === undefined ? [] : [row];
  });
}
