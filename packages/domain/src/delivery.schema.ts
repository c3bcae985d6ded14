import { z } from 'zod';

export const deliveryStatusSchema = z.enum(['queued', 'sending', 'sent', 'failed', 'canceled']);
export type DeliveryStatus = z.infer<typeof deliveryStatusSchema>;

/**
 * The delivery state machine (DESIGN §3). `sending → queued` is a retry; every other move
 * ends in a terminal state that nothing leaves.
 */
const TRANSITIONS: Record<DeliveryStatus, readonly DeliveryStatus[]> = {
  queued: ['sending', 'canceled'],
  sending: ['sent', 'failed', 'queued'],
  sent: [],
  failed: [],
  canceled: [],
};

export function canTransition(from: DeliveryStatus, to: DeliveryStatus): boolean {
  return TRANSITIONS[from].includes(to);
}

export function isTerminal(status: DeliveryStatus): boolean {
  return TRANSITIONS[status].length === 0;
}

/** The statuses a move to `to` may start from: the `WHERE status IN (...)` of its update. */
export function sourcesOf(to: DeliveryStatus): DeliveryStatus[] {
  return deliveryStatusSchema.options.filter((from) => canTransition(from, to));
}
