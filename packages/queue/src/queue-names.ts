/** Every BullMQ queue Outbound uses (DESIGN §5). */
export const QUEUE_NAMES = {
  deliveries: 'deliveries',
  scheduler: 'scheduler',
} as const;

export type QueueName = (typeof QUEUE_NAMES)[keyof typeof QUEUE_NAMES];

/** The workflow id of a repeating schedule, which is also its BullMQ job scheduler id. */
export function scheduleWorkflowId(scheduleId: string): string {
  return `outbound:text-send-schedule:${scheduleId}`;
}
