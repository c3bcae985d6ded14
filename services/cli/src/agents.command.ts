import { createAgent, findAgentByEmail, listAgents } from '@outbound/db';
import type { Command } from 'commander';
import { z } from 'zod';
import type { CliDeps } from './cli-deps.ts';
import { failure } from './cli-error.ts';
import { requireOrganization } from './lookups.ts';
import { idSchema, jsonFlagSchema, parseOptions } from './options.ts';
import { Output } from './output.ts';

const UNIQUE_VIOLATION = '23505';

/** Stored in lower case, so that one address is one agent however it was typed. */
const agentEmailSchema = z
  .string()
  .trim()
  .pipe(z.email('must be an email address, such as ada@example.com').max(254))
  .transform((email) => email.toLowerCase());

const createOptionsSchema = z.object({
  org: idSchema,
  email: agentEmailSchema,
  name: z.string().trim().max(200, 'at most 200 characters').optional(),
  json: jsonFlagSchema,
});

const listOptionsSchema = z.object({ org: idSchema, json: jsonFlagSchema });

export function registerAgentCommands(program: Command, deps: CliDeps): void {
  const agent = program
    .command('agent')
    .description("an organization's agents: authors and targets of conversation drafts");

  agent
    .command('create')
    .description('create an agent (its integer id is what author_id and target_id take)')
    .requiredOption('--org <id>', 'organization id')
    .requiredOption('--email <email>', 'the agent’s email address, unique in the organization')
    .option('--name <name>', 'a display name')
    .option('--json', 'print the agent as JSON')
    .action(async (raw: Record<string, unknown>) => {
      const options = parseOptions(createOptionsSchema, raw);
      const duplicate = () =>
        failure(`organization ${options.org} already has an agent with email ${options.email}`);
      await requireOrganization(deps.db, options.org);
      if ((await findAgentByEmail(deps.db, options.org, options.email)) !== undefined) {
        throw duplicate();
      }
      const created = await createAgent(deps.db, {
        organizationId: options.org,
        email: options.email,
        name: options.name,
      }).catch((error: unknown) => {
        if ((error as { code?: unknown }).code === UNIQUE_VIOLATION) throw duplicate();
        throw error;
      });
      const out = new Output(deps.stdout, options.json);
      if (out.asJson) return out.json(created);
      out.line(
        `Created agent ${created.id} (${created.email}) in organization ${created.organization_id}.`,
      );
    });

  agent
    .command('list')
    .description("list an organization's agents, oldest first")
    .requiredOption('--org <id>', 'organization id')
    .option('--json', 'print a JSON array')
    .action(async (raw: Record<string, unknown>) => {
      const options = parseOptions(listOptionsSchema, raw);
      await requireOrganization(deps.db, options.org);
      const agents = await listAgents(deps.db, options.org);
      const out = new Output(deps.stdout, options.json);
      if (out.asJson) return out.json(agents);
      out.table(
        agents,
        {
          id: (a) => a.id,
          email: (a) => a.email,
          name: (a) => a.name,
          created: (a) => a.created_at,
        },
        'No agents.',
      );
    });
}
