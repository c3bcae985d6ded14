import {
  CHANNEL_OF_MODALITY,
  findMessageDraft,
  findMessageDraftSender,
  insertMessageDraft,
  notifyMessageDraftReady,
  queueMessageDraft,
  type Db,
  type MessageDraftRecord,
  type NewMessageDraft,
} from '@outbound/db';
import type { Logger } from '@outbound/config';
import { enqueueDeliveries, type Queues } from '@outbound/queue';
import type { Principal } from '../auth/principal.ts';
import { AppError } from '../errors/app-error.ts';
import { isBlank, type MessageDraftRequest } from '../routes/message-drafts.schema.ts';
import { redisAfterCommit } from '../sends/redis-after-commit.ts';
import { DEFAULT_FOLDER, normalizeFolder } from './folder.ts';
import { messageDraftId } from './message-draft-view.ts';
import { toE164 } from './phone-number.ts';

export interface CreateMessageDraftDeps {
  db: Db;
  queues: Queues;
}

export interface CreateMessageDraftInput {
  principal: Principal;
  body: MessageDraftRequest;
  requestId: string;
  log: Logger;
}

/**
 * `POST …/message-drafts`, for a body that passed `messageDraftRequestSchema`. In ONE
 * transaction: picks the organization's working sender for the modality (422 `unprocessable`,
 * writing nothing, when it has none), stores the draft, and then either queues it
 * (`autosend_draft`: a send with one queued delivery, see `queueMessageDraft`) or, with
 * `add_notification`, records a `draft.ready_for_review` notification and event. After commit
 * the delivery's job is enqueued; a Redis failure then is logged, not answered: the sweeper
 * enqueues it later (DESIGN §4.1).
 */
export async function createMessageDraft(
  deps: CreateMessageDraftDeps,
  input: CreateMessageDraftInput,
): Promise<MessageDraftRecord> {
  const { body, principal } = input;
  const { organizationId } = principal;
  const { draft, queued } = await deps.db.transaction().execute(async (trx) => {
    const sender = await findMessageDraftSender(trx, organizationId, body.modality);
    if (sender === undefined) throw noWorkingSender(body.modality);
    const row = await insertMessageDraft(trx, {
      ...draftFields(body),
      organizationId,
      senderId: sender.id,
    });
    const queued = body.autosend_draft
      ? await queueMessageDraft(trx, row, {
          actorUserId: principal.actorUserId,
          requestId: input.requestId,
        })
      : undefined;
    if (body.add_notification) {
      await notifyMessageDraftReady(trx, row, { draft_id: messageDraftId(row) });
    }
    const draft = await findMessageDraft(trx, organizationId, row.id);
    if (draft === undefined) throw new Error(`message draft ${row.id} vanished`);
    return { draft, queued };
  });

  if (queued !== undefined) {
    const jobs = queued.deliveries.map((delivery) => ({
      delivery_id: delivery.id,
      organization_id: delivery.organization_id,
    }));
    await redisAfterCommit(() => enqueueDeliveries(deps.queues, jobs), input.log, {
      message: 'enqueue after commit failed; the sweeper will enqueue this delivery',
      fields: { send_id: queued.sendId, message_draft_id: draft.id },
    });
  }
  return draft;
}

/** The draft's columns from a valid body: blanks as null, the number in E.164, the folder normalised. */
function draftFields(
  body: MessageDraftRequest,
): Omit<NewMessageDraft, 'organizationId' | 'senderId'> {
  const text = (value: string | null | undefined): string | null =>
    isBlank(value) ? null : (value ?? null);
  const phone = text(body.to_phone_number);
  const e164 = phone === null ? null : toE164(phone);
  if (e164 === undefined) throw new Error('to_phone_number passed validation but is not valid');
  const folder = text(body.folder);
  return {
    modality: body.modality,
    subject: text(body.subject),
    bodyHtml: text(body.body_html),
    recipientName: text(body.to_user_name)?.trim() ?? null,
    recipientEmail: text(body.to_email),
    recipientPhoneNumber: e164,
    ccEmails: body.cc_emails ?? [],
    bccEmails: body.bcc_emails ?? [],
    folder: folder === null ? DEFAULT_FOLDER : normalizeFolder(folder),
  };
}

function noWorkingSender(modality: MessageDraftRequest['modality']): AppError {
  const channel = CHANNEL_OF_MODALITY[modality];
  const what =
    modality === 'email'
      ? 'an email account that can send (WORKING, sending, with an address)'
      : 'an SMS sender that can send (WORKING, sending)';
  return AppError.of(
    'unprocessable',
    `the organization has no credentials for ${modality} drafts: it needs ${what}; nothing was created`,
    { reason: 'no_working_sender', modality, channel },
  );
}
