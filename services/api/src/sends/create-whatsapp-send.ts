import { createSend, findSendIdByIdempotencyKey } from '@outbound/db';
import { enqueueDeliveries } from '@outbound/queue';
import { AppError } from '../errors/app-error.ts';
import { requestFingerprint, sha256Hex } from '../idempotency/fingerprint.ts';
import {
  findReplay,
  runIdempotent,
  type IdempotencyScope,
  type IdempotentAnswer,
} from '../idempotency/run-idempotent.ts';
import type { UploadedFile } from '../media/multipart.ts';
import {
  sendCommandAcceptedSchema,
  type SendAccepted,
  type SendCommandAccepted,
  type SendRequest,
} from '../routes/sends.schema.ts';
import { createWhatsappSchedule } from './create-whatsapp-schedule.ts';
import { redisAfterCommit } from './redis-after-commit.ts';
import { checkFirstRunNotPast, checkScheduleBounds } from './schedule-checks.ts';
import { storeSendContent } from './store-send-content.ts';
import { checkContent, checkSessionAndGroups } from './whatsapp-send-checks.ts';
import type {
  CreateWhatsappSendDeps,
  CreateWhatsappSendInput,
  PreparedSend,
} from './whatsapp-send-types.ts';

const SEND_SCOPE = 'POST /v2/outbound/sends';

export type { CreateWhatsappSendDeps, CreateWhatsappSendInput, PreparedSend };

/**
 * A WhatsApp send, now or scheduled. Checks the content (and the schedule's bounds), answers a
 * replayed idempotency key before anything else, then checks the session and groups and fetches
 * and checks the media. Without `schedule`: in one transaction the media objects, the send, a
 * queued delivery per group, the `accepted` event and the idempotency record (so a refused
 * request stores no media); after commit one job per delivery (job id = delivery id). With
 * `schedule`: see `createWhatsappSchedule`. A Redis failure after commit is logged, not
 * answered: the rows are the truth and the dispatcher catches up (DESIGN §4.1).
 */
export async function createWhatsappSend(
  deps: CreateWhatsappSendDeps,
  input: CreateWhatsappSendInput,
): Promise<IdempotentAnswer<SendCommandAccepted>> {
  const { body, files, principal } = input;
  const organizationId = principal.organizationId;
  checkContent(body, files, deps.config.MEDIA_MAX_FILES);
  const schedule =
    body.schedule === undefined ? undefined : checkScheduleBounds(body.schedule, deps.config);

  const idempotency: IdempotencyScope = {
    organizationId,
    key: body.idempotency_key,
    scope: SEND_SCOPE,
    fingerprint: requestFingerprint(SEND_SCOPE, {
      body,
      files: files.map((file) => ({
        sha256: sha256Hex(file.data),
        mimetype: file.mimetype,
        filename: file.filename,
      })),
    }),
  };
  // A retry of an accepted request is answered before any other check or media fetch.
  const early = await findReplay(deps.db, idempotency, sendCommandAcceptedSchema);
  if (early !== undefined) return early;
  if (schedule !== undefined) checkFirstRunNotPast(schedule, Date.now());

  const prepared = await prepareSend(deps, organizationId, body, files);
  if (schedule !== undefined) {
    return createWhatsappSchedule(deps, { ...input, idempotency, prepared, schedule });
  }
  return sendNow(deps, input, idempotency, prepared);
}

async function prepareSend(
  deps: CreateWhatsappSendDeps,
  organizationId: string,
  body: SendRequest,
  files: readonly UploadedFile[],
): Promise<PreparedSend> {
  const groups = await checkSessionAndGroups(deps.db, organizationId, body);
  // Uploads first: they are checked without a network call, so a bad file fetches nothing.
  const uploaded = deps.mediaIngest.fromUploads(files);
  const fetched =
    body.media === undefined || body.media.length === 0
      ? []
      : await deps.mediaIngest.fromUrls(body.media);
  const media = [...fetched, ...uploaded];
  const text = body.text === undefined || body.text.trim() === '' ? null : body.text;
  return { groups, text, media };
}

async function sendNow(
  deps: CreateWhatsappSendDeps,
  input: CreateWhatsappSendInput,
  idempotency: IdempotencyScope,
  prepared: PreparedSend,
): Promise<IdempotentAnswer<SendCommandAccepted>> {
  const { body, principal } = input;
  const organizationId = principal.organizationId;
  const answer = await runIdempotent<SendCommandAccepted>({
    ...idempotency,
    db: deps.db,
    ttlHours: deps.config.IDEMPOTENCY_TTL_HOURS,
    schema: sendCommandAcceptedSchema,
    work: async (trx) => {
      const earlier = await findSendIdByIdempotencyKey(trx, organizationId, body.idempotency_key);
      if (earlier !== undefined) {
        // The record expired (and may have been purged), but the send still holds the key.
        throw AppError.of(
          'idempotency_key_reused',
          `Idempotency key "${body.idempotency_key}" was used by send ${earlier}, whose ` +
            'replay window has passed; use a new key',
          { idempotency_key: body.idempotency_key, send_id: earlier },
        );
      }
      const created = await createSend(trx, {
        organizationId,
        senderId: body.session_id,
        channel: 'whatsapp',
        origin: 'whatsapp_send',
        actorUserId: principal.actorUserId,
        content: await storeSendContent(deps.mediaIngest, trx, organizationId, prepared),
        recipients: prepared.groups.map((group) => ({
          recipient: group.chat_id,
          groupId: group.id,
        })),
        idempotencyKey: body.idempotency_key,
        requestId: input.requestId,
      });
      const accepted: SendAccepted = {
        status: 'accepted',
        request_id: input.requestId,
        send: {
          status: 'accepted',
          send_id: created.send.id,
          event_ids: created.eventIds,
          results: created.deliveries.map((delivery) => ({
            recipient_send_id: delivery.id,
            group_id: groupOf(delivery),
            ok: true,
            status: delivery.status,
          })),
          request_id: input.requestId,
        },
      };
      return { status: 202, body: accepted };
    },
  });
  if (answer.replayed || !('send' in answer.body)) return answer;

  const { send } = answer.body;
  const jobs = send.results.map((result) => ({
    delivery_id: result.recipient_send_id,
    organization_id: organizationId,
  }));
  await redisAfterCommit(() => enqueueDeliveries(deps.queues, jobs), input.log, {
    message: 'enqueue after commit failed; the sweeper will enqueue these deliveries',
    fields: { send_id: send.send_id, deliveries: jobs.length },
  });
  return answer;
}

function groupOf(delivery: { id: string; group_id: string | null }): string {
  if (delivery.group_id === null) throw new Error(`delivery ${delivery.id} has no group`);
  return delivery.group_id;
}
