import { findSendWithDeliveries, listSendEventIds, type Db, type Delivery } from '@outbound/db';
import { AppError } from '../errors/app-error.ts';
import type { SendStatusResponse } from '../routes/sends.schema.ts';

type SendView = SendStatusResponse['send'];

/** A send of the organization as it stands now, with every recipient's result; 404 otherwise. */
export async function getSendStatus(
  db: Db,
  organizationId: string,
  sendId: string,
): Promise<SendView> {
  const found = await findSendWithDeliveries(db, organizationId, sendId);
  if (found === undefined) {
    throw AppError.of('not_found', `send ${sendId} not found`, { send_id: sendId });
  }
  const { send, deliveries } = found;
  return {
    status: send.status,
    send_id: send.id,
    session_id: send.sender_id,
    event_ids: await listSendEventIds(db, organizationId, send.id),
    results: deliveries.map(toResult),
    request_id: send.request_id,
    created_at_ms: send.created_at.getTime(),
    updated_at_ms: send.updated_at.getTime(),
  };
}

function toResult(delivery: Delivery): SendView['results'][number] {
  return {
    recipient_send_id: delivery.id,
    group_id: delivery.group_id,
    recipient: delivery.recipient,
    ok: delivery.status !== 'failed' && delivery.status !== 'canceled',
    status: delivery.status,
    attempts: delivery.attempts,
    provider_message_id: delivery.provider_message_id,
    error_code: delivery.error_code,
    error_message: delivery.error_message,
    possible_duplicate: delivery.possible_duplicate,
    due_at_ms: delivery.due_at.getTime(),
    sent_at_ms: epochMs(delivery.sent_at),
    failed_at_ms: epochMs(delivery.failed_at),
    canceled_at_ms: epochMs(delivery.canceled_at),
    created_at_ms: delivery.created_at.getTime(),
    updated_at_ms: delivery.updated_at.getTime(),
  };
}

function epochMs(date: Date | null): number | null {
  return date === null ? null : date.getTime();
}
