import { DelayedError, type Job, UnrecoverableError } from 'bullmq';
import {
  AdapterSetupError,
  PermanentDeliveryError,
  RetryableDeliveryError,
  type SendResult,
} from '@outbound/channels';
import type { Config, Logger } from '@outbound/config';
import {
  type AttemptRef,
  type Db,
  type DeliveryError,
  type DeliveryForSending,
  failMessageDraftOfSend,
  isMessageDraftSend,
  markSenderFailed,
  promoteSentMessageDraft,
  requeueDelivery,
  type SendingSender,
} from '@outbound/db';
import type { JobPayload, RateLimiter } from '@outbound/queue';
import type { AdapterFactory } from './adapter-factory.ts';
import { callWithTimeout } from './call-with-timeout.ts';
import { PermanentDispatchError } from './dispatch-errors.ts';
import { deliveryMessage } from './delivery-message.ts';
import { createDeliveryStore, type DeliveryStore } from './delivery-store.ts';
import { emailDeliveryMessage } from './email-delivery-message.ts';
import { messageDraftDeliveryMessage } from './message-draft-message.ts';
import { createDispatcherMetrics, type DispatcherMetrics } from './metrics.ts';

export interface DeliverJobDeps {
  config: Pick<Config, 'ADAPTER_TIMEOUT_MS' | 'DELIVERY_MAX_ATTEMPTS'>;
  db: Db;
  logger: Logger;
  rateLimiter: RateLimiter;
  adapters: AdapterFactory;
  /** Where the job reads and records deliveries; batched over `db` by default. */
  store?: DeliveryStore;
  /** Where outcomes, provider calls, rate-limit delays and due lag are counted. */
  metrics?: DispatcherMetrics;
}

/** How long a sender holds off after a provider said "too many requests" without saying how long. */
const DEFAULT_HOLD_OFF_MS = 1_000;

/** The provider's grant is gone: no delivery through the sender can succeed until it is renewed. */
const SENDER_NEEDS_REAUTHORIZATION = 'reauthorization_required';

/** How an attempt went wrong, and whether another attempt may help. */
interface Failure extends DeliveryError {
  retryable: boolean;
}

/**
 * The `deliver` job: one provider call for one recipient (DESIGN §3–§5).
 *
 * Load → nothing to do unless `queued` → refuse for good when the sender cannot send → take a
 * rate-limit slot (a later slot moves the job to it, once, and frees the worker meanwhile) →
 * claim `queued → sending` → call the adapter with a timeout → `sent`, or `failed` at once
 * for a permanent error, or back to `queued` for BullMQ to retry with backoff (flagged
 * `possible_duplicate` when the provider may have taken the attempt), until the last attempt
 * fails with `retries_exhausted`. Every write is conditional, so a late or duplicate
 * job finds nothing to do. Logs name ids, never message bodies or credentials.
 */
export function createDeliverJob(deps: DeliverJobDeps) {
  const { config, db, rateLimiter, adapters } = deps;
  const store = deps.store ?? createDeliveryStore(db);
  const metrics = deps.metrics ?? createDispatcherMetrics({ processMetrics: false });

  return async (payload: JobPayload<'deliver'>, job: Job, token?: string): Promise<void> => {
    const loaded = await store.load({
      id: payload.delivery_id,
      organization_id: payload.organization_id,
    });
    if (loaded === undefined) {
      deps.logger.warn({ job_id: job.id, ...payload }, 'delivery not found; nothing to do');
      return;
    }
    const { delivery, sender } = loaded;
    const ref = {
      id: delivery.id,
      organization_id: delivery.organization_id,
      send_id: delivery.send_id,
    };
    const logger = deps.logger.child({
      delivery_id: delivery.id,
      send_id: delivery.send_id,
      organization_id: delivery.organization_id,
      request_id: loaded.send.request_id,
    });
    if (delivery.status !== 'queued') {
      logger.debug({ status: delivery.status }, 'delivery is not queued; nothing to do');
      return;
    }

    const refusal = senderRefusal(sender);
    if (refusal !== undefined) {
      // The state machine fails only what is `sending`: claim, then fail without a call.
      const claimed = await store.claim(ref);
      if (claimed === undefined) return;
      logger.info({ attempt: claimed }, 'delivery sending');
      if (
        await fail({ ...ref, attempt: claimed }, { ...refusal, retryable: false }, loaded, logger)
      ) {
        throw new UnrecoverableError(`${refusal.code}: ${refusal.message}`);
      }
      return;
    }

    const slot = await rateLimiter.reserve({
      key: sender.id,
      reservationId: delivery.id,
      limit: { max: sender.rate_limit_max, window_ms: sender.rate_limit_window_ms },
    });
    if (slot.delayMs > 0) {
      if (token === undefined) throw new Error('a rate-limited job needs its lock token to wait');
      metrics.rateLimitDelay(sender.provider, slot.delayMs / 1_000);
      logger.debug({ delay_ms: slot.delayMs }, 'delivery waits for its rate-limit slot');
      await job.moveToDelayed(Date.now() + slot.delayMs, token);
      throw new DelayedError();
    }

    const claimed = await store.claim(ref);
    if (claimed === undefined) {
      logger.debug('delivery was claimed elsewhere; nothing to do');
      return;
    }
    const attempt: AttemptRef = { ...ref, attempt: claimed };
    logger.info({ attempt: attempt.attempt }, 'delivery sending');

    let result: SendResult;
    try {
      result = await send(loaded, attempt.attempt);
    } catch (error) {
      const failure = classify(error);
      await holdOffWhenAsked(sender, error, logger);
      if (failure.code === SENDER_NEEDS_REAUTHORIZATION) {
        await markSenderFailed(db, {
          organizationId: sender.organization_id,
          senderId: sender.id,
          reason: `${failure.code}: ${failure.message}`,
        });
        logger.warn({ sender_id: sender.id }, 'sender needs authorising again; marked FAILED');
      }
      if (!failure.retryable) {
        if (await fail(attempt, failure, loaded, logger)) {
          throw new UnrecoverableError(`${failure.code}: ${failure.message}`);
        }
        return;
      }
      if (isLastAttempt(attempt.attempt, job)) {
        const exhausted = {
          code: 'retries_exhausted',
          message: `gave up after ${attempt.attempt} attempts; last error ${failure.code}: ${failure.message}`,
          retryable: false,
        };
        if (await fail(attempt, exhausted, loaded, logger)) {
          throw new UnrecoverableError(exhausted.message);
        }
        return;
      }
      const possibleDuplicate = mayHaveBeenTaken(failure, error);
      if (!(await requeueDelivery(db, attempt, failure, { possibleDuplicate }))) {
        logger.warn({ attempt: attempt.attempt }, 'delivery changed while sending; not retried');
        return;
      }
      metrics.deliveryOutcome(sender, 'retried');
      logger.info(
        {
          attempt: attempt.attempt,
          error_code: failure.code,
          possible_duplicate: possibleDuplicate,
        },
        'delivery queued for a retry',
      );
      // BullMQ retries it; the error carries any Retry-After to the backoff strategy.
      throw error instanceof Error ? error : new Error(failure.message);
    }

    const recorded = await store.record({
      attempt,
      status: 'sent',
      providerMessageId: result.providerMessageId,
    });
    if (recorded) {
      metrics.deliveryOutcome(sender, 'sent');
      metrics.dueLag(sender.channel, (Date.now() - delivery.due_at.getTime()) / 1_000);
      logger.info(
        { attempt: attempt.attempt, provider_message_id: result.providerMessageId },
        'delivery sent',
      );
      if (isMessageDraftSend(loaded.send)) {
        await settleMessageDraft(
          () =>
            promoteSentMessageDraft(db, {
              organizationId: delivery.organization_id,
              sendId: delivery.send_id,
            }),
          logger,
        );
      }
    } else {
      logger.warn(
        { attempt: attempt.attempt, provider_message_id: result.providerMessageId },
        'delivery was sent but changed meanwhile; outcome not recorded',
      );
    }
  };

  async function send(loaded: DeliveryForSending, attempt: number): Promise<SendResult> {
    const adapter = await adapters(loaded.sender);
    const message = isMessageDraftSend(loaded.send)
      ? messageDraftDeliveryMessage(loaded.send)
      : loaded.send.channel === 'email'
        ? await emailDeliveryMessage(db, loaded)
        : deliveryMessage(loaded);
    const started = performance.now();
    const seconds = () => (performance.now() - started) / 1_000;
    try {
      const result = await callWithTimeout(
        (signal) =>
          // The union of adapters and messages is matched by channel; the adapter re-checks it.
          (adapter.send as (request: object) => Promise<SendResult>)({
            message,
            attempt,
            deliveryId: loaded.delivery.id,
            signal,
          }),
        config.ADAPTER_TIMEOUT_MS,
      );
      metrics.providerCall(loaded.sender.provider, 'ok', seconds());
      return result;
    } catch (error) {
      const outcome = classify(error).retryable ? 'retryable_error' : 'permanent_error';
      metrics.providerCall(loaded.sender.provider, outcome, seconds());
      throw error;
    }
  }

  async function fail(
    attempt: AttemptRef,
    failure: Failure,
    loaded: DeliveryForSending,
    logger: Logger,
  ): Promise<boolean> {
    const failed = await store.record({
      attempt,
      status: 'failed',
      error: { code: failure.code, message: failure.message },
    });
    if (failed) {
      metrics.deliveryOutcome(loaded.sender, 'failed');
      logger.info({ attempt: attempt.attempt, error_code: failure.code }, 'delivery failed');
    }
    // Only a message draft's send has a draft to settle: other failures skip the lookup.
    if (failed && isMessageDraftSend(loaded.send)) {
      await settleMessageDraft(
        () =>
          failMessageDraftOfSend(db, {
            organizationId: attempt.organization_id,
            sendId: attempt.send_id,
          }),
        logger,
      );
    }
    return failed;
  }

  /**
   * A provider that says "too many requests" (or names a time to come back) speaks for the
   * sender, not for this one delivery: every delivery of the sender waits, in every dispatcher.
   * A failure to record the hold-off is logged; the delivery's own backoff still applies.
   */
  async function holdOffWhenAsked(
    sender: SendingSender,
    error: unknown,
    logger: Logger,
  ): Promise<void> {
    if (!(error instanceof RetryableDeliveryError)) return;
    if (error.code !== 'rate_limited' && error.retryAfterMs === undefined) return;
    const holdOffMs = error.retryAfterMs ?? DEFAULT_HOLD_OFF_MS;
    try {
      await rateLimiter.holdOff(sender.id, holdOffMs);
      logger.info({ sender_id: sender.id, hold_off_ms: holdOffMs }, 'sender holds off');
    } catch (holdError) {
      logger.warn({ err: holdError, sender_id: sender.id }, 'could not hold the sender off');
    }
  }

  /**
   * The dispatcher counts attempts in Postgres (`attempts` survives crashes and re-enqueues);
   * BullMQ's own ceiling is only a backstop.
   */
  function isLastAttempt(attempt: number, job: Job): boolean {
    return (
      attempt >= config.DELIVERY_MAX_ATTEMPTS || job.attemptsMade + 1 >= (job.opts.attempts ?? 1)
    );
  }
}

function senderRefusal(sender: SendingSender): DeliveryError | undefined {
  if (sender.role !== 'sending') {
    return {
      code: 'sender_cannot_send',
      message: `sender ${sender.id} is a ${sender.role} session and cannot send`,
    };
  }
  if (sender.status !== 'WORKING') {
    return {
      code: 'sender_not_working',
      message: `sender ${sender.id} is ${sender.status}, not WORKING`,
    };
  }
  return undefined;
}

/** Retryable failures after which the provider may have sent the message anyway. */
const OUTCOME_UNKNOWN: ReadonlySet<string> = new Set(['timeout', 'connection_failed']);

/** Network errors raised before any byte of the request could reach the provider. */
const NEVER_CONNECTED: ReadonlySet<string> = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN']);

/**
 * Whether the provider may have taken an attempt that failed as retryable: it did not answer in
 * time, or the connection dropped after the request went out (WAHA's sends are not idempotent,
 * so the retry may reach the recipient a second time). A connection that was never made
 * (refused, name not resolved) sent nothing.
 */
function mayHaveBeenTaken(failure: Failure, error: unknown): boolean {
  if (!OUTCOME_UNKNOWN.has(failure.code)) return false;
  for (let cause = error; cause instanceof Error; cause = cause.cause) {
    const code = (cause as { code?: unknown }).code;
    if (typeof code === 'string' && NEVER_CONNECTED.has(code)) return false;
  }
  return true;
}

function classify(error: unknown): Failure {
  if (error instanceof RetryableDeliveryError) {
    return { code: error.code, message: error.message, retryable: true };
  }
  if (
    error instanceof PermanentDeliveryError ||
    error instanceof PermanentDispatchError ||
    error instanceof AdapterSetupError
  ) {
    return { code: error.code, message: error.message, retryable: false };
  }
  // Adapters throw only typed errors; anything else is a bug, which a retry may outlast.
  const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  return { code: 'unexpected_error', message, retryable: true };
}

/**
 * Applies a delivery's outcome to the message draft it came from. A failure is logged, not
 * thrown: the delivery's outcome is already committed, and the API settles the draft when it
 * is next read.
 */
async function settleMessageDraft(work: () => Promise<unknown>, logger: Logger): Promise<void> {
  try {
    await work();
  } catch (error) {
    logger.warn({ err: error }, 'could not settle the message draft of this send; the API will');
  }
}
