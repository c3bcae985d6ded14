import type { Logger } from '@outbound/config';

/** How long an answer waits for Redis after commit before leaving the work to the dispatcher. */
const REDIS_TIMEOUT_MS = 2_000;

/**
 * Runs Redis work that follows a commit (enqueueing, upserting a job scheduler) for at most
 * two seconds. A failure or timeout is logged, not thrown: the committed rows are the truth,
 * and the dispatcher's sweeper or reconciler redoes the work from them (DESIGN §4.1).
 */
export async function redisAfterCommit(
  work: () => Promise<unknown>,
  log: Logger,
  failure: { message: string; fields: Record<string, unknown> },
): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      work(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`no answer from Redis within ${REDIS_TIMEOUT_MS} ms`)),
          REDIS_TIMEOUT_MS,
        );
      }),
    ]);
  } catch (error) {
    log.warn({ err: error, ...failure.fields }, failure.message);
  } finally {
    clearTimeout(timer);
  }
}
