import type { Logger } from '@outbound/config';

/** One thing to close at shutdown, named for the logs. */
export interface ShutdownStep {
  name: string;
  run: () => Promise<unknown>;
}

/**
 * Runs the steps in order; a failing step is logged and the rest still run, so one broken
 * resource never leaves the others open. Resolves to the exit code: 0 when every step succeeded.
 */
export async function runShutdown(steps: readonly ShutdownStep[], logger: Logger): Promise<number> {
  let exitCode = 0;
  for (const step of steps) {
    try {
      await step.run();
      logger.debug({ step: step.name }, 'closed');
    } catch (error) {
      exitCode = 1;
      logger.error({ err: error, step: step.name }, 'shutdown step failed');
    }
  }
  return exitCode;
}

/**
 * Calls `shutdown` on the first SIGTERM or SIGINT, then exits with its code. A second signal
 * while shutting down exits at once with 1.
 */
export function exitOnSignals(shutdown: () => Promise<number>, logger: Logger): void {
  let shuttingDown = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (shuttingDown) {
      logger.warn({ signal }, 'second signal: exiting now');
      process.exit(1);
    }
    shuttingDown = true;
    logger.info({ signal }, 'shutting down');
    shutdown().then(
      (code) => process.exit(code),
      (error: unknown) => {
        logger.fatal({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
}
