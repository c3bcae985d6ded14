import { PROVIDER_REGISTRY } from '@outbound/channels';
import { createSender, listSenders, type SenderRecord } from '@outbound/db';
import {
  channelSchema,
  type Provider,
  PROVIDERS_BY_CHANNEL,
  providerSchema,
  providerServesChannel,
  SANDBOX_RATE_LIMIT,
  senderRoleSchema,
  senderStatusSchema,
} from '@outbound/domain';
import type { Command } from 'commander';
import { z } from 'zod';
import type { CliDeps } from './cli-deps.ts';
import { requireOrganization } from './lookups.ts';
import {
  e164Schema,
  idSchema,
  jsonFlagSchema,
  jsonObjectSchema,
  nameSchema,
  parseOptions,
} from './options.ts';
import { Output } from './output.ts';
import {
  formatRateLimit,
  RATE_LIMIT_EXAMPLE,
  rateLimitTextSchema,
  storableRateLimitSchema,
} from './rate-limit.ts';

const wholeNumberSchema = z
  .string()
  .regex(/^\d+$/, 'must be a whole number')
  .transform((text) => Number(text));

const createOptionsSchema = z
  .object({
    org: idSchema,
    channel: channelSchema,
    provider: providerSchema,
    name: nameSchema,
    label: z.string().trim().max(200, 'at most 200 characters').optional(),
    address: z.string().trim().min(1, 'must not be empty').max(320).optional(),
    role: senderRoleSchema.default('sending'),
    status: senderStatusSchema.default('WORKING'),
    rateLimit: rateLimitTextSchema.optional(),
    rateMax: wholeNumberSchema.optional(),
    rateWindowMs: wholeNumberSchema.optional(),
    settings: jsonObjectSchema.optional(),
    credentials: jsonObjectSchema.optional(),
    json: jsonFlagSchema,
  })
  .transform((options, ctx) => {
    const { rateMax, rateWindowMs, rateLimit: rateText, ...rest } = options;
    if (!providerServesChannel(options.provider, options.channel)) {
      const served = PROVIDERS_BY_CHANNEL[options.channel].join(' or ');
      ctx.addIssue({
        code: 'custom',
        message: `provider ${options.provider} does not serve the ${options.channel} channel; ${options.channel} senders use ${served}`,
      });
      return z.NEVER;
    }
    checkAddress(options.channel, options.address, ctx);
    checkSettings(options.provider, options.settings, ctx);

    let rateLimit = rateText;
    if (rateMax !== undefined || rateWindowMs !== undefined) {
      if (rateText !== undefined) {
        ctx.addIssue({
          code: 'custom',
          path: ['rateLimit'],
          message: 'give either --rate-limit or --rate-max with --rate-window-ms, not both',
        });
      } else if (rateMax === undefined || rateWindowMs === undefined) {
        ctx.addIssue({
          code: 'custom',
          path: [rateMax === undefined ? 'rateMax' : 'rateWindowMs'],
          message: '--rate-max and --rate-window-ms go together',
        });
      } else {
        const checked = storableRateLimitSchema.safeParse({
          max: rateMax,
          window_ms: rateWindowMs,
        });
        if (checked.success) rateLimit = checked.data;
        else
          ctx.addIssue({
            code: 'custom',
            path: ['rateLimit'],
            message: 'both must be positive and fit in 32 bits',
          });
      }
    }
    if (rateLimit === undefined && options.provider === 'sandbox') rateLimit = SANDBOX_RATE_LIMIT;
    if (rateLimit === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['rateLimit'],
        message: `is required for provider ${options.provider} (such as --rate-limit ${RATE_LIMIT_EXAMPLE}); only sandbox senders have a default`,
      });
      return z.NEVER;
    }
    return { ...rest, rateLimit };
  });

/** The provider's own settings schema, so a sender that cannot work is refused at creation. */
function checkSettings(
  provider: Provider,
  settings: Record<string, unknown> | undefined,
  ctx: z.RefinementCtx,
): void {
  const checked = PROVIDER_REGISTRY[provider].settings.safeParse(settings ?? {});
  if (checked.success) return;
  for (const issue of checked.error.issues) {
    ctx.addIssue({
      code: 'custom',
      path: ['settings'],
      message: `${provider} settings${issue.path.map((key) => `.${String(key)}`).join('')}: ${issue.message}`,
    });
  }
}

function checkAddress(channel: string, address: string | undefined, ctx: z.RefinementCtx): void {
  if (address === undefined) return;
  const schema =
    channel === 'email'
      ? z.email('must be an email address')
      : channel === 'sms'
        ? e164Schema
        : undefined;
  const checked = schema?.safeParse(address);
  if (checked?.success === false) {
    ctx.addIssue({
      code: 'custom',
      path: ['address'],
      message: checked.error.issues[0]?.message ?? 'is not valid',
    });
  }
}

const listOptionsSchema = z.object({
  org: idSchema.optional(),
  channel: channelSchema.optional(),
  json: jsonFlagSchema,
});

export function registerSenderCommands(program: Command, deps: CliDeps): void {
  const sender = program
    .command('sender')
    .description('senders: WhatsApp sessions, email accounts, SMS numbers');

  sender
    .command('create')
    .description('create a sender; credentials are sealed and never printed')
    .requiredOption('--org <id>', 'organization id')
    .requiredOption('--channel <channel>', choices(channelSchema.options))
    .requiredOption('--provider <provider>', choices(providerSchema.options))
    .requiredOption('--name <name>', 'name, 1 to 200 characters')
    .option('--label <label>', 'a display label')
    .option('--address <address>', 'phone number (E.164 for sms) or email address')
    .option('--role <role>', `${choices(senderRoleSchema.options)} (default: sending)`)
    .option('--status <status>', `${choices(senderStatusSchema.options)} (default: WORKING)`)
    .option(
      '--rate-limit <max/window>',
      `at most <max> calls per window, such as ${RATE_LIMIT_EXAMPLE}, 20/1m or 5/500ms (sandbox default: ${formatRateLimit(SANDBOX_RATE_LIMIT)})`,
    )
    .option('--rate-max <n>', 'rate limit: calls per window (with --rate-window-ms)')
    .option('--rate-window-ms <ms>', 'rate limit: window length in milliseconds')
    .option('--settings <json>', 'provider settings, a JSON object')
    .option('--credentials <json>', 'provider credentials, a JSON object (stored encrypted)')
    .option('--json', 'print the sender as JSON')
    .action(async (raw: Record<string, unknown>) => {
      const options = parseOptions(createOptionsSchema, raw);
      await requireOrganization(deps.db, options.org);
      const created = await createSender(deps.db, deps.cipher, {
        organizationId: options.org,
        channel: options.channel,
        provider: options.provider,
        name: options.name,
        label: options.label,
        address: options.address,
        role: options.role,
        status: options.status,
        rateLimit: options.rateLimit,
        settings: options.settings,
        credentials: options.credentials,
      });
      const out = new Output(deps.stdout, options.json);
      if (out.asJson) return out.json(created);
      out.line(
        `Created ${created.channel} sender ${created.id} (${describeSender(created)}) in organization ${created.organization_id}.`,
      );
      if (options.credentials !== undefined) out.line('Credentials stored encrypted.');
    });

  sender
    .command('list')
    .description('list senders (never their credentials)')
    .option('--org <id>', 'only this organization')
    .option('--channel <channel>', `only this channel: ${choices(channelSchema.options)}`)
    .option('--json', 'print a JSON array')
    .action(async (raw: Record<string, unknown>) => {
      const options = parseOptions(listOptionsSchema, raw);
      const senders = await listSenders(deps.db, {
        organizationId: options.org,
        channel: options.channel,
      });
      const out = new Output(deps.stdout, options.json);
      if (out.asJson) return out.json(senders);
      out.table(
        senders,
        {
          id: (s) => s.id,
          organization: (s) => s.organization_id,
          channel: (s) => s.channel,
          provider: (s) => s.provider,
          name: (s) => s.name,
          address: (s) => s.address,
          role: (s) => s.role,
          status: (s) => s.status,
          'rate limit': (s) => rateLimitOf(s),
        },
        'No senders.',
      );
    });
}

function choices(values: readonly string[]): string {
  return values.join('|');
}

function rateLimitOf(sender: SenderRecord): string {
  return formatRateLimit({ max: sender.rate_limit_max, window_ms: sender.rate_limit_window_ms });
}

function describeSender(sender: SenderRecord): string {
  return [sender.provider, sender.role, sender.status, rateLimitOf(sender)].join(', ');
}
