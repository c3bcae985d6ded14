import { createApiKey, listApiKeys, revokeApiKey } from '@outbound/db';
import { apiKeyPrefix } from '@outbound/domain';
import type { Command } from 'commander';
import { z } from 'zod';
import type { CliDeps } from './cli-deps.ts';
import { failure } from './cli-error.ts';
import { requireOrganization } from './lookups.ts';
import { idSchema, jsonFlagSchema, nameSchema, parseOptions } from './options.ts';
import { Output } from './output.ts';

const createOptionsSchema = z.object({
  org: idSchema,
  actor: nameSchema,
  name: z.string().trim().max(200, 'at most 200 characters').optional(),
  json: jsonFlagSchema,
});

/** A key's id, its clear prefix, or the whole key (from which the prefix is taken). */
const keyReferenceSchema = z
  .string()
  .trim()
  .transform((value) => apiKeyPrefix(value) ?? value)
  .refine(
    (value) => idSchema.safeParse(value).success || /^[a-z0-9]{12}$/.test(value),
    'expected an API key id (UUID) or its 12-character prefix',
  );

const revokeOptionsSchema = z.object({ key: keyReferenceSchema, json: jsonFlagSchema });
const listOptionsSchema = z.object({ org: idSchema.optional(), json: jsonFlagSchema });

export function registerApiKeyCommands(program: Command, deps: CliDeps): void {
  const apiKey = program.command('api-key').description('API keys (hashed at rest)');

  apiKey
    .command('create')
    .description('create an API key; the secret is printed once and never again')
    .requiredOption('--org <id>', 'organization id')
    .requiredOption('--actor <user>', 'the user id the key acts as (actor_user_id)')
    .option('--name <name>', 'a label to recognise the key by')
    .option('--json', 'print the key and its secret as JSON')
    .action(async (raw: Record<string, unknown>) => {
      const options = parseOptions(createOptionsSchema, raw);
      await requireOrganization(deps.db, options.org);
      const { key, record } = await createApiKey(deps.db, {
        organizationId: options.org,
        actorUserId: options.actor,
        name: options.name,
      });
      const out = new Output(deps.stdout, options.json);
      if (out.asJson) return out.json({ ...record, api_key: key });
      out.line(
        `Created API key ${record.id} (prefix ${record.prefix}) for actor ${record.actor_user_id} in organization ${record.organization_id}.`,
      );
      out.line();
      out.line(`  ${key}`);
      out.line();
      out.line('This is the only time the secret is shown: store it now. Only its hash is kept.');
    });

  apiKey
    .command('revoke')
    .description('revoke an API key by id or prefix')
    .argument('<id-or-prefix>', "the key's id, its 12-character prefix, or the key itself")
    .option('--json', 'print the result as JSON')
    .action(async (key: string, raw: Record<string, unknown>) => {
      const options = parseOptions(revokeOptionsSchema, { ...raw, key }, { key: '<id-or-prefix>' });
      if (!(await revokeApiKey(deps.db, options.key))) {
        throw failure(`no active API key matches ${options.key} (unknown or already revoked)`);
      }
      const out = new Output(deps.stdout, options.json);
      if (out.asJson) out.json({ revoked: options.key });
      else out.line(`Revoked API key ${options.key}.`);
    });

  apiKey
    .command('list')
    .description('list API keys (never their secrets)')
    .option('--org <id>', 'only this organization')
    .option('--json', 'print a JSON array')
    .action(async (raw: Record<string, unknown>) => {
      const options = parseOptions(listOptionsSchema, raw);
      const keys = await listApiKeys(deps.db, options.org);
      const out = new Output(deps.stdout, options.json);
      if (out.asJson) return out.json(keys);
      out.table(
        keys,
        {
          id: (k) => k.id,
          prefix: (k) => k.prefix,
          organization: (k) => k.organization_id,
          actor: (k) => k.actor_user_id,
          name: (k) => k.name,
          created: (k) => k.created_at,
          status: (k) => (k.revoked_at === null ? 'active' : 'revoked'),
        },
        'No API keys.',
      );
    });
}
