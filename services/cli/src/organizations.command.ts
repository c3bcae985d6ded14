import { createOrganization, listOrganizations } from '@outbound/db';
import type { Command } from 'commander';
import { z } from 'zod';
import type { CliDeps } from './cli-deps.ts';
import { jsonFlagSchema, nameSchema, parseOptions } from './options.ts';
import { Output } from './output.ts';

const createOptionsSchema = z.object({ name: nameSchema, json: jsonFlagSchema });
const listOptionsSchema = z.object({ json: jsonFlagSchema });

export function registerOrganizationCommands(program: Command, deps: CliDeps): void {
  const org = program.command('org').description('organizations (tenants)');

  org
    .command('create')
    .description('create an organization')
    .requiredOption('--name <name>', 'display name, 1 to 200 characters')
    .option('--json', 'print the organization as JSON')
    .action(async (raw: Record<string, unknown>) => {
      const options = parseOptions(createOptionsSchema, raw);
      const organization = await createOrganization(deps.db, options.name);
      const out = new Output(deps.stdout, options.json);
      if (out.asJson) out.json(organization);
      else out.line(`Created organization ${organization.id} (${organization.name})`);
    });

  org
    .command('list')
    .description('list organizations')
    .option('--json', 'print a JSON array')
    .action(async (raw: Record<string, unknown>) => {
      const options = parseOptions(listOptionsSchema, raw);
      const organizations = await listOrganizations(deps.db);
      const out = new Output(deps.stdout, options.json);
      if (out.asJson) return out.json(organizations);
      out.table(
        organizations,
        { id: (o) => o.id, name: (o) => o.name, created: (o) => o.created_at },
        'No organizations.',
      );
    });
}
