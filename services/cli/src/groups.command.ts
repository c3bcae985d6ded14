import { addGroupToSession, createGroup, findGroup, listGroups } from '@outbound/db';
import type { Command } from 'commander';
import { z } from 'zod';
import type { CliDeps } from './cli-deps.ts';
import { failure } from './cli-error.ts';
import { requireOrganization, requireWhatsappSession } from './lookups.ts';
import { idSchema, jsonFlagSchema, parseOptions } from './options.ts';
import { Output } from './output.ts';

const UNIQUE_VIOLATION = '23505';

const createOptionsSchema = z.object({
  org: idSchema,
  chatId: z.string().trim().min(1, 'must not be empty').max(200, 'at most 200 characters'),
  name: z.string().trim().max(200, 'at most 200 characters').optional(),
  session: z
    .array(idSchema)
    .default([])
    .transform((ids) => [...new Set(ids)]),
  json: jsonFlagSchema,
});

const addToSessionOptionsSchema = z.object({
  group: idSchema,
  session: idSchema,
  json: jsonFlagSchema,
});

const listOptionsSchema = z.object({
  org: idSchema.optional(),
  session: idSchema.optional(),
  json: jsonFlagSchema,
});

export function registerGroupCommands(program: Command, deps: CliDeps): void {
  const group = program
    .command('group')
    .description('WhatsApp groups and the sessions they are present in');

  group
    .command('create')
    .description('create a group, optionally present in some sessions')
    .requiredOption('--org <id>', 'organization id')
    .requiredOption('--chat-id <chat-id>', "the provider's chat id, such as 120363...@g.us")
    .option('--name <name>', 'a display name')
    .option('--session <ids...>', 'WhatsApp sessions (sender ids) the group is present in')
    .option('--json', 'print the group as JSON')
    .action(async (raw: Record<string, unknown>) => {
      const options = parseOptions(createOptionsSchema, raw);
      const created = await deps.db
        .transaction()
        .execute(async (tx) => {
          await requireOrganization(tx, options.org);
          for (const sessionId of options.session) {
            await requireWhatsappSession(tx, options.org, sessionId);
          }
          const row = await createGroup(tx, {
            organizationId: options.org,
            chatId: options.chatId,
            name: options.name,
          });
          for (const sessionId of options.session) {
            await addGroupToSession(tx, {
              organizationId: options.org,
              groupId: row.id,
              sessionId,
            });
          }
          return { ...row, session_ids: options.session };
        })
        .catch((error: unknown) => {
          if ((error as { code?: unknown }).code === UNIQUE_VIOLATION) {
            throw failure(
              `organization ${options.org} already has a group with chat id ${options.chatId}`,
            );
          }
          throw error;
        });
      const out = new Output(deps.stdout, options.json);
      if (out.asJson) return out.json(created);
      out.line(
        `Created group ${created.id} (chat ${created.chat_id}) in organization ${created.organization_id}, ${presence(created.session_ids)}.`,
      );
    });

  group
    .command('add-to-session')
    .description('mark a group present in a WhatsApp session of its organization')
    .requiredOption('--group <id>', 'group id')
    .requiredOption('--session <id>', 'session (sender) id')
    .option('--json', 'print the presence as JSON')
    .action(async (raw: Record<string, unknown>) => {
      const options = parseOptions(addToSessionOptionsSchema, raw);
      const found = await findGroup(deps.db, options.group);
      if (found === undefined) throw failure(`group ${options.group} not found`);
      await requireWhatsappSession(deps.db, found.organization_id, options.session);
      await addGroupToSession(deps.db, {
        organizationId: found.organization_id,
        groupId: found.id,
        sessionId: options.session,
      });
      const out = new Output(deps.stdout, options.json);
      if (out.asJson) {
        return out.json({
          organization_id: found.organization_id,
          group_id: found.id,
          session_id: options.session,
        });
      }
      out.line(`Group ${found.id} is present in session ${options.session}.`);
    });

  group
    .command('list')
    .description('list groups with the sessions they are present in')
    .option('--org <id>', 'only this organization')
    .option('--session <id>', 'only groups present in this session')
    .option('--json', 'print a JSON array')
    .action(async (raw: Record<string, unknown>) => {
      const options = parseOptions(listOptionsSchema, raw);
      const groups = await listGroups(deps.db, {
        organizationId: options.org,
        sessionId: options.session,
      });
      const out = new Output(deps.stdout, options.json);
      if (out.asJson) return out.json(groups);
      out.table(
        groups,
        {
          id: (g) => g.id,
          organization: (g) => g.organization_id,
          'chat id': (g) => g.chat_id,
          name: (g) => g.name,
          sessions: (g) => g.session_ids.join(','),
        },
        'No groups.',
      );
    });
}

function presence(sessionIds: readonly string[]): string {
  return sessionIds.length === 0
    ? 'present in no session yet'
    : `present in ${sessionIds.length === 1 ? 'session' : 'sessions'} ${sessionIds.join(', ')}`;
}
