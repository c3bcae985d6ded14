/** Every BullMQ queue Outbound uses (DESIGN §5). */
export const QUEUE_NAMES = {
  deliveries: 'deliveries',
  scheduler: 'scheduler',
  /** Webhook calls, apart from deliveries so a slow endpoint never holds a message back. */
  webhooks: 'webhooks',
} as const;

export type QueueName = (typeof QUEUE_NAMES)[keyof typeof QUEUE_NAMES];

/** The workflow id of a repeating schedule, which is also its BullMQ job scheduler id. */
export function scheduleWorkflowId(scheduleId: string): string {
  return `outbound:text-send-schedule:${scheduleId}`;
}
