import { newId } from '@outbound/domain';
import type { Executor } from './executor.ts';

export interface RecordEventOptions {
  organizationId: string;
  type: string;
  sendId?: string;
  deliveryId?: string;
  scheduleId?: string;
  payload?: Record<string, unknown>;
}

/** Appends events (the history of sends and deliveries) and returns their ids in order. */
export async function recordEvents(
  db: Executor,
  events: readonly RecordEventOptions[],
): Promise<string[]> {
  if (events.length === 0) return [];
  const rows = events.map((event) => ({
    id: newId(),
    organization_id: event.organizationId,
    type: event.type,
    send_id: event.sendId ?? null,
    delivery_id: event.deliveryId ?? null,
    schedule_id: event.scheduleId ?? null,
    payload: JSON.stringify(event.payload ?? {}),
  }));
  await db.insertInto('events').values(rows).execute();
  return rows.map((row) => row.id);
}
