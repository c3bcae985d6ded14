import { Command, CommanderError } from 'commander';
import { registerAgentCommands } from './agents.command.ts';
import { registerApiKeyCommands } from './api-keys.command.ts';
import type { CliDeps } from './cli-deps.ts';
import { CliError, EXIT_FAILURE, EXIT_USAGE } from './cli-error.ts';
import { registerGroupCommands } from './groups.command.ts';
import { registerOrganizationCommands } from './organizations.command.ts';
import type { OutputStream } from './output.ts';
import { registerSeedDemoCommand } from './seed-demo.command.ts';
import { registerSenderCommands } from './senders.command.ts';

/**
 * The `outbound` command tree, writing only to the given streams and never exiting the process,
 * so tests run commands in-process. Build a new one per run: commander keeps parsed values.
 */
export function createProgram(deps: CliDeps): Command {
  // Settings made before `.command()` are inherited by every subcommand.
  const program = new Command('outbound')
    .description(
      'Administer Outbound: organizations, API keys, senders, groups, agents and demo data.',
    )
    .exitOverride()
    .configureOutput({
      writeOut: (text) => deps.stdout.write(text),
      writeErr: (text) => deps.stderr.write(text),
    });
  const { beforeCommand } = deps;
  if (beforeCommand !== undefined) program.hook('preAction', () => beforeCommand());

  registerOrganizationCommands(program, deps);
  registerApiKeyCommands(program, deps);
  registerSenderCommands(program, deps);
  registerGroupCommands(program, deps);
  registerAgentCommands(program, deps);
  registerSeedDemoCommand(program, deps);
  return program;
}

/**
 * Runs one command line (`args` without `node` and the script) and returns the exit code:
 * 0 on success, 2 for bad usage or input, 1 when the command failed. Errors are one line on
 * stderr, never a stack trace.
 */
export async function runProgram(deps: CliDeps, args: readonly string[]): Promise<number> {
  try {
    await createProgram(deps).parseAsync(args, { from: 'user' });
    return 0;
  } catch (error) {
    return report(error, deps.stderr);
  }
}

function report(error: unknown, stderr: OutputStream): number {
  if (error instanceof CommanderError) {
    // Commander has already written its message (or the help text).
    if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version') return 0;
    return EXIT_USAGE;
  }
  if (error instanceof CliError) {
    stderr.write(`error: ${error.message}\n`);
    return error.exitCode;
  }
  stderr.write(`error: ${describe(error)}\n`);
  return EXIT_FAILURE;
}

function describe(error: unknown): string {
  // A refused connection to a host with several addresses is an AggregateError with no message.
  if (error instanceof AggregateError && error.message === '' && error.errors.length > 0) {
    return describe(error.errors[0]);
  }
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return error.message || (typeof code === 'string' ? code : error.name);
  }
  return String(error);
}
