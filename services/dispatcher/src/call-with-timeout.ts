import { RetryableDeliveryError } from '@outbound/channels';

/**
 * Runs a provider call with an abort signal, and gives up after `timeoutMs` with a retryable
 * `timeout` even if the call ignores the signal.
 */
export async function callWithTimeout<T>(
  call: (signal: AbortSignal) => Promise<T>,
  timeoutMs: number,
): Promise<T> {
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      controller.abort();
      reject(
        new RetryableDeliveryError('timeout', `the provider did not answer within ${timeoutMs} ms`),
      );
    }, timeoutMs);
  });
  try {
    return await Promise.race([call(controller.signal), timedOut]);
  } finally {
    clearTimeout(timer);
  }
}
