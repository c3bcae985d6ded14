import { z } from 'zod';

export const sendStatusSchema = z.enum([
  'queued',
  'sending',
  'sent',
  'partially_failed',
  'failed',
  'canceled',
]);
export type SendStatus = z.infer<typeof sendStatusSchema>;

export const sendOriginSchema = z.enum([
  'whatsapp_send',
  'schedule_occurrence',
  'whatsapp_draft',
  'email_draft',
  'message_draft',
]);
export type SendOrigin = z.infer<typeof sendOriginSchema>;

export const scheduleStatusSchema = z.enum(['active', 'paused', 'completed', 'canceled']);
export type ScheduleStatus = z.infer<typeof scheduleStatusSchema>;

export const emailDraftStatusSchema = z.enum([
  'draft',
  'scheduled',
  'sending',
  'sent',
  'failed',
  'canceled',
]);
export type EmailDraftStatus = z.infer<typeof emailDraftStatusSchema>;

export const messageDraftStatusSchema = z.enum(['draft', 'queued', 'sending', 'sent', 'failed']);
export type MessageDraftStatus = z.infer<typeof messageDraftStatusSchema>;

export const modalitySchema = z.enum(['email', 'text']);
export type Modality = z.infer<typeof modalitySchema>;
