import type { Config, Logger } from '@outbound/config';
import {
  createSend,
  findGroupsInSession,
  findSendIdByIdempotencyKey,
  findSender,
  whatsappSendContentSchema,
  type Db,
  type SessionGroup,
  type StoredMedia,
} from '@outbound/db';
import { enqueueDeliveries, type Queues } from '@outbound/queue';
import type { Principal } from '../auth/principal.ts';
import { AppError } from '../errors/app-error.ts';
import { requestFingerprint, sha256Hex } from '../idempotency/fingerprint.ts';
import {
  findReplay,
  runIdempotent,
  type IdempotencyScope,
  type IdempotentAnswer,
} from '../idempotency/run-idempotent.ts';
import type { MediaIngest } from '../media/media-ingest.ts';
import type { UploadedFile } from '../media/multipart.ts';
import { validationFailed } from '../routing/validate-input.ts';
import { sendAcceptedSchema, type SendAccepted, type SendRequest } from '../routes/sends.schema.ts';

const SEND_SCOPE = 'POST /v2/outbound/sends';

/** How long the answer waits for Redis after commit before leaving the jobs to the sweeper. */
const ENQUEUE_TIMEOUT_MS = 2_000;

export interface CreateWhatsappSendDeps {
  db: Db;
  queues: Queues;
  mediaIngest: MediaIngest;
  config: Config;
}

export interface CreateWhatsappSendInput {
  principal: Principal;
  requestId: string;
  body: SendRequest;
  /** Image files of a multipart request (the `files` field), in order. */
  files: readonly UploadedFile[];
  log: Logger;
}

/**
 * An immediate WhatsApp send: checks the session and groups, stores the media, then in one
 * transaction writes the send, a queued delivery per group, the `accepted` event and the
 * idempotency record; after commit it enqueues one job per delivery (job id = delivery id).
 * A Redis failure after commit is logged, not answered: the rows are the truth and the
 * sweeper enqueues them later (DESIGN §4.1).
 */
export async function createWhatsappSend(
  deps: CreateWhatsappSendDeps,
  input: CreateWhatsappSendInput,
): Promise<IdempotentAnswer<SendAccepted>> {
  const { body, files, principal } = input;
  const organizationId = principal.organizationId;
  if (body.schedule !== undefined) {
    throw AppError.of('not_supported', 'scheduled sends are not supported yet', {
      field: 'schedule',
    });
  }
  checkContent(body, files, deps.config.MEDIA_MAX_FILES);

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
  // A retry of an accepted send is answered before any other check or media fetch.
  const early = await findReplay(deps.db, idempotency, sendAcceptedSchema);
  if (early !== undefined) return early;

  const groups = await checkSessionAndGroups(deps.db, organizationId, body);
  const media: StoredMedia[] = [
    ...(body.media === undefined || body.media.length === 0
      ? []
      : await deps.mediaIngest.fromUrls(organizationId, body.media)),
    ...(files.length === 0 ? [] : await deps.mediaIngest.fromUploads(organizationId, files)),
  ];
  const text = body.text === undefined || body.text.trim() === '' ? null : body.text;
  const content = whatsappSendContentSchema.parse({ text, media });

  const answer = await runIdempotent({
    ...idempotency,
    db: deps.db,
    ttlHours: deps.config.IDEMPOTENCY_TTL_HOURS,
    schema: sendAcceptedSchema,
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
        content,
        recipients: groups.map((group) => ({ recipient: group.chat_id, groupId: group.id })),
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
  if (answer.replayed) return answer;

  await enqueueAfterCommit(deps.queues, organizationId, answer.body, input.log);
  return answer;
}

function groupOf(delivery: { id: string; group_id: string | null }): string {
  if (delivery.group_id === null) throw new Error(`delivery ${delivery.id} has no group`);
  return delivery.group_id;
}

/** Text, media or files, within the count limit. */
function checkContent(body: SendRequest, files: readonly UploadedFile[], maxItems: number): void {
  const mediaCount = (body.media?.length ?? 0) + files.length;
  if (mediaCount > maxItems) {
    throw validationFailed([
      {
        location: 'body',
        path: 'media',
        code: 'too_big',
        message: `media and files together are at most ${maxItems}; got ${mediaCount}`,
      },
    ]);
  }
  if (mediaCount === 0 && (body.text === undefined || body.text.trim() === '')) {
    throw validationFailed([
      {
        location: 'body',
        path: 'text',
        code: 'required',
        message: 'text is required when there is no media and no files',
      },
    ]);
  }
}

/**
 * The session must be a WORKING sending WhatsApp session of the organization, and every group
 * present in it. Returns the groups in the order asked.
 */
async function checkSessionAndGroups(
  db: Db,
  organizationId: string,
  body: SendRequest,
): Promise<SessionGroup[]> {
  const session = await findSender(db, organizationId, body.session_id);
  if (session === undefined || session.channel !== 'whatsapp') {
    throw AppError.of('not_found', `session ${body.session_id} not found`, {
      session_id: body.session_id,
    });
  }
  if (session.role === 'receiving') {
    throw AppError.of(
      'conflict',
      `session ${session.id} is a receiving session; outbound sends need a sending session`,
      { session_id: session.id, role: session.role },
    );
  }
  if (session.status !== 'WORKING') {
    throw AppError.of(
      'conflict',
      `session ${session.id} is ${session.status}; sends need a WORKING session`,
      { session_id: session.id, status: session.status },
    );
  }
  const groups = await findGroupsInSession(db, {
    organizationId,
    sessionId: session.id,
    groupIds: body.group_ids,
  });
  if (groups.length !== body.group_ids.length) {
    const present = new Set(groups.map((group) => group.id));
    const missing = body.group_ids.filter((id) => !present.has(id));
    throw AppError.of(
      'unprocessable',
      `groups not present in session ${session.id}: ${missing.join(', ')}`,
      { session_id: session.id, group_ids: missing },
    );
  }
  return groups;
}

async function enqueueAfterCommit(
  queues: Queues,
  organizationId: string,
  accepted: SendAccepted,
  log: Logger,
): Promise<void> {
  const jobs = accepted.send.results.map((result) => ({
    delivery_id: result.recipient_send_id,
    organization_id: organizationId,
  }));
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      enqueueDeliveries(queues, jobs),
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`no answer from Redis within ${ENQUEUE_TIMEOUT_MS} ms`)),
          ENQUEUE_TIMEOUT_MS,
        );
      }),
    ]);
  } catch (error) {
    log.warn(
      { err: error, send_id: accepted.send.send_id, deliveries: jobs.length },
      'enqueue after commit failed; the sweeper will enqueue these deliveries',
    );
  } finally {
    clearTimeout(timer);
  }
}
