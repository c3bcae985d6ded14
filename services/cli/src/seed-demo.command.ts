import type { Command } from 'commander';
import { z } from 'zod';
import type { CliDeps } from './cli-deps.ts';
import { jsonFlagSchema, parseOptions } from './options.ts';
import { Output } from './output.ts';
import { seedDemo } from './seed-demo.ts';

const optionsSchema = z.object({ json: jsonFlagSchema });

export function registerSeedDemoCommand(program: Command, deps: CliDeps): void {
  program
    .command('seed-demo')
    .description(
      'create a new demo organization with API keys, sandbox senders, groups, agents and a conversation (a new one every run)',
    )
    .option('--json', 'print exactly one JSON object on stdout')
    .action(async (raw: Record<string, unknown>) => {
      const options = parseOptions(optionsSchema, raw);
      const seeded = await seedDemo(deps.db, deps.cipher);
      const out = new Output(deps.stdout, options.json);
      if (out.asJson) return out.json(seeded);
      out.line(`Demo organization ${seeded.organization_id}`);
      out.line();
      out.line('API keys (shown only this once):');
      out.line(`  ${seeded.actor_user_id}  ${seeded.api_key}`);
      out.line(`  ${seeded.second_actor.actor_user_id}  ${seeded.second_actor.api_key}`);
      out.line();
      out.line('WhatsApp sessions (sandbox):');
      out.line(`  working    ${seeded.sessions.working}  sending, WORKING, has the demo groups`);
      out.line(`  receiving  ${seeded.sessions.receiving}  receiving, WORKING`);
      out.line(`  stopped    ${seeded.sessions.stopped}  sending, STOPPED`);
      out.line();
      out.line(`Groups in the working session: ${seeded.group_ids.join(', ')}`);
      out.line(`Group only in the stopped session: ${seeded.foreign_group_id}`);
      out.line(`Email account (sandbox): ${seeded.email_account_id}`);
      out.line(`SMS sender (sandbox): ${seeded.sms_sender_id}`);
      out.line();
      out.line('Agents (author_id / author_email of conversation drafts):');
      for (const agent of seeded.agents) out.line(`  ${agent.id}  ${agent.email}`);
      out.line(`Conversation with one inbound message: ${seeded.conversation_id}`);
    });
}
