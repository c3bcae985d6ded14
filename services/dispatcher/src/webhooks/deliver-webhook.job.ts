import { DelayedError, type Job } from 'bullmq';
import type { Config, Logger } from '@outbound/config';
import {
  cancelWebhookDelivery,
  claimWebhookAttempt,
  type Db,
  hasEarlierPendingWebhookDelivery,
  loadWebhookDeliveryForSending,
  recordWebhookAttempt,
  type WebhookAttemptOutcome,
} from '@outbound/db';
import type { CredentialsCipher } from '@outbound/domain';
import type { JobPayload } from '@outbound/queue';
import { webhookRetryDelayMs, WebhookRetryError } from './webhook-backoff.ts';
import { webhookBody } from './webhook-payload.ts';
import { postWebhook, type WebhookCallResult, type WebhookPostOptions } from './webhook-post.ts';
import { SIGNATURE_HEADER, webhookSignature } from './webhook-signature.ts';

export interface DeliverWebhookJobDeps {
  config: Pick<
    Config,
    | 'WEBHOOK_TIMEOUT_MS'
    | 'WEBHOOK_MAX_ATTEMPTS'
    | 'WEBHOOK_BACKOFF_MS'
    | 'WEBHOOK_BACKOFF_MAX_MS'
    | 'WEBHOOK_ORDER_WAIT_MS'
    | 'WEBHOOK_ALLOW_HOSTS'
    | 'WEBHOOK_ALLOW_HTTP'
  >;
  db: Db;
  logger: Logger;
  /** Opens endpoints' signing secrets. */
  cipher: CredentialsCipher;
  /** Hostname resolver for the address check; the OS resolver by default. Tests pin names. */
  resolve?: WebhookPostOptions['resolve'];
}

/** How often a job held back for ordering looks again. */
const ORDER_RECHECK_MS = 100;

/** Refusals no retry can fix: the URL itself is not allowed. */
const PERMANENT_FAILURES = new Set(['private_address', 'not_https']);

/**
 * The `deliver-webhook` job: one call of one event to one endpoint.
 *
 * Load → nothing to do unless `pending` → `canceled` when the endpoint was disabled → wait
 * (moved to delayed, no attempt counted) while an earlier event of the same send is still
 * pending for this endpoint, for at most `WEBHOOK_ORDER_WAIT_MS` from when the relay made this
 * delivery → count the attempt → sign and POST through the SSRF guard, cut off after
 * `WEBHOOK_TIMEOUT_MS` → `delivered` on a 2xx; otherwise the status or error is recorded and
 * the job fails with the wait before the next call (`WebhookRetryError`), until the
 * `WEBHOOK_MAX_ATTEMPTS`th call, after which the delivery is `failed`. A URL the guard refuses
 * (private address, not https) fails at once. Every write is conditional, so a late or
 * duplicate job finds nothing to do. Logs name ids and statuses, never the secret or the body.
 */
export function createDeliverWebhookJob(deps: DeliverWebhookJobDeps) {
  const { config, db, logger } = deps;
  const backoff = { baseMs: config.WEBHOOK_BACKOFF_MS, maxMs: config.WEBHOOK_BACKOFF_MAX_MS };
  const postOptions: WebhookPostOptions = {
    timeoutMs: config.WEBHOOK_TIMEOUT_MS,
    allowHosts: config.WEBHOOK_ALLOW_HOSTS,
    allowHttp: config.WEBHOOK_ALLOW_HTTP,
    resolve: deps.resolve,
  };

  return async (payload: JobPayload<'deliverWebhook'>, job: Job, token?: string): Promise<void> => {
    const ref = { id: payload.webhook_delivery_id, organization_id: payload.organization_id };
    const loaded = await loadWebhookDeliveryForSending(db, ref);
    if (loaded === undefined) {
      logger.warn({ job_id: job.id, ...payload }, 'webhook delivery not found; nothing to do');
      return;
    }
    const { delivery, endpoint, event } = loaded;
    const fields = {
      webhook_delivery_id: delivery.id,
      organization_id: delivery.organization_id,
      endpoint_id: endpoint.id,
      event_id: event.id,
      event_type: event.type,
    };
    if (delivery.status !== 'pending') return;
    if (endpoint.disabled_at !== null) {
      if (await cancelWebhookDelivery(db, ref)) logger.info(fields, 'webhook delivery canceled');
      return;
    }
    const waitedMs = Date.now() - delivery.created_at.getTime();
    if (
      token !== undefined &&
      waitedMs < config.WEBHOOK_ORDER_WAIT_MS &&
      (await hasEarlierPendingWebhookDelivery(db, delivery))
    ) {
      await job.moveToDelayed(Date.now() + ORDER_RECHECK_MS, token);
      throw new DelayedError();
    }

    const attempt = await claimWebhookAttempt(db, ref, delivery.attempts);
    if (attempt === undefined) return;
    const secret = String(deps.cipher.open(endpoint.secret_sealed).secret);
    const body = webhookBody(event);
    const started = Date.now();
    const result = await postWebhook(
      endpoint.url,
      body,
      {
        'content-type': 'application/json',
        'user-agent': 'Outbound-Webhooks/1',
        'outbound-event-id': event.id,
        [SIGNATURE_HEADER.toLowerCase()]: webhookSignature(
          secret,
          body,
          Math.floor(started / 1000),
        ),
      },
      postOptions,
    );
    const outcome = outcomeOf(result, attempt);
    const logged = {
      ...fields,
      attempt,
      status_code: outcome.statusCode,
      duration_ms: Date.now() - started,
    };
    await recordWebhookAttempt(db, ref, attempt, outcome);
    switch (outcome.kind) {
      case 'delivered':
        logger.info(logged, 'webhook delivered');
        return;
      case 'failed':
        logger.warn({ ...logged, error: outcome.error }, 'webhook delivery failed');
        return;
      case 'retry':
        logger.info(
          { ...logged, error: outcome.error, next_attempt_at: outcome.nextAttemptAt },
          'webhook call failed; will retry',
        );
        throw new WebhookRetryError(outcome.error, outcome.nextAttemptAt.getTime() - Date.now());
    }
  };

  function outcomeOf(result: WebhookCallResult, attempt: number): WebhookAttemptOutcome {
    if (result.answered && result.status >= 200 && result.status < 300) {
      return { kind: 'delivered', statusCode: result.status };
    }
    const statusCode = result.answered ? result.status : null;
    const error = result.answered ? `HTTP ${result.status}` : `${result.reason}: ${result.message}`;
    const permanent = !result.answered && PERMANENT_FAILURES.has(result.reason);
    if (permanent || attempt >= config.WEBHOOK_MAX_ATTEMPTS) {
      return {
        kind: 'failed',
        statusCode,
        error: permanent ? error : `${error} (after ${attempt} attempts)`,
      };
    }
    const nextAttemptAt = new Date(Date.now() + webhookRetryDelayMs(attempt, backoff));
    return { kind: 'retry', statusCode, error, nextAttemptAt };
  }
}
