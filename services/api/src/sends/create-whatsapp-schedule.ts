import { createSchedule } from '@outbound/db';
import { scheduleWorkflowId, upsertScheduleJobScheduler } from '@outbound/queue';
import {
  runIdempotent,
  type IdempotencyScope,
  type IdempotentAnswer,
} from '../idempotency/run-idempotent.ts';
import {
  sendCommandAcceptedSchema,
  type ScheduleAccepted,
  type SendCommandAccepted,
} from '../routes/sends.schema.ts';
import type {
  CreateWhatsappSendDeps,
  CreateWhatsappSendInput,
  PreparedSend,
} from './whatsapp-send-types.ts';
import { redisAfterCommit } from './redis-after-commit.ts';
import type { ScheduleRequest } from './schedule-checks.ts';
import { storeSendContent } from './store-send-content.ts';

export interface CreateWhatsappScheduleInput extends CreateWhatsappSendInput {
  idempotency: IdempotencyScope;
  prepared: PreparedSend;
  schedule: ScheduleRequest;
}

/**
 * A scheduled WhatsApp send: in one transaction (holding the idempotency key's lock) the
 * media objects, the `active` schedule — its content (text and stored media), groups, session
 * and actor, first due at `first_run_at` — its `schedule.created` event and the idempotency
 * record. After commit its BullMQ job scheduler (id = `workflow_id`) is upserted; if Redis is
 * down the answer is the same, and the dispatcher's reconciler (and its due-work poller) make
 * up for it.
 */
export async function createWhatsappSchedule(
  deps: CreateWhatsappSendDeps,
  input: CreateWhatsappScheduleInput,
): Promise<IdempotentAnswer<SendCommandAccepted>> {
  const { body, principal, schedule } = input;
  const organizationId = principal.organizationId;
  const answer = await runIdempotent<SendCommandAccepted>({
    ...input.idempotency,
    db: deps.db,
    ttlHours: deps.config.IDEMPOTENCY_TTL_HOURS,
    schema: sendCommandAcceptedSchema,
    work: async (trx) => {
      const created = await createSchedule(trx, {
        organizationId,
        senderId: body.session_id,
        actorUserId: principal.actorUserId,
        groupIds: input.prepared.groups.map((group) => group.id),
        content: await storeSendContent(deps.mediaIngest, trx, organizationId, input.prepared),
        firstRunAt: schedule.firstRunAt,
        intervalMs: schedule.intervalMs,
        maxOccurrences: schedule.maxOccurrences,
        requestId: input.requestId,
      });
      const accepted: ScheduleAccepted = {
        status: 'accepted',
        request_id: input.requestId,
        schedule: {
          status: 'accepted',
          schedule_id: created.schedule.id,
          workflow_id: scheduleWorkflowId(created.schedule.id),
          next_run_at_ms: schedule.firstRunAt.getTime(),
          interval_ms: schedule.intervalMs,
          max_occurrences: schedule.maxOccurrences,
        },
      };
      return { status: 202, body: accepted };
    },
  });
  if (answer.replayed || !('schedule' in answer.body)) return answer;

  const scheduleId = answer.body.schedule.schedule_id;
  await redisAfterCommit(
    () =>
      upsertScheduleJobScheduler(deps.queues, {
        scheduleId,
        organizationId,
        firstRunAt: schedule.firstRunAt,
        intervalMs: schedule.intervalMs,
        nextRunAt: schedule.firstRunAt,
      }),
    input.log,
    {
      message: 'job scheduler upsert after commit failed; the dispatcher reconciles it',
      fields: { schedule_id: scheduleId },
    },
  );
  return answer;
}
