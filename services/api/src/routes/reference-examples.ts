import type { OperationExamples } from '../routing/openapi-document.ts';

/*
 * The examples of the reference documents (shared/reference/), by operationId, for the OpenAPI
 * document. Values are the reference's own, except where it shows a placeholder (`<string>`,
 * `123`) or an id of another system (`HR_id_example_…`): those are replaced by values of the
 * shape Outbound answers with. The document builder checks each one against the route's
 * schema, so an example that drifts from the contract fails the OpenAPI tests.
 */

const SESSION_ID = '018f06e2-4f8d-7c01-8a0d-cc6fd78f7070';
const GROUP_ID = '018f06e2-4f8d-7c01-8a0d-cc6fd78f7300';
const REQUEST_ID = '018f06e2-4f8d-7c01-8a0d-cc6fd78f7001';
const REFERENCE_SCHEDULE = {
  first_run_at_ms: 1777809600000,
  interval_ms: 3600000,
  max_occurrences: 3,
};

const whatsappSend: OperationExamples = {
  request: {
    immediate: {
      summary: 'Send now to one group',
      value: {
        session_id: SESSION_ID,
        group_ids: [GROUP_ID],
        idempotency_key: 'frontend-outbound-018f06e2',
        text: 'New arrivals this week',
      },
    },
    scheduled: {
      summary: 'Send every hour, three times',
      value: {
        session_id: SESSION_ID,
        group_ids: [GROUP_ID],
        idempotency_key: 'frontend-outbound-018f06e3',
        text: 'New arrivals this week',
        schedule: REFERENCE_SCHEDULE,
      },
    },
  },
  responses: {
    202: {
      accepted: {
        summary: 'Accepted: one queued delivery per group',
        value: {
          status: 'accepted',
          send: {
            status: 'accepted',
            send_id: '018f06e2-4f8d-7c01-8a0d-cc6fd78f7100',
            event_ids: ['018f06e2-4f8d-7c01-8a0d-cc6fd78f7102'],
            results: [
              {
                recipient_send_id: '018f06e2-4f8d-7c01-8a0d-cc6fd78f7101',
                group_id: GROUP_ID,
                ok: true,
                status: 'queued',
              },
            ],
            request_id: REQUEST_ID,
          },
          request_id: REQUEST_ID,
        },
      },
      scheduled: {
        summary: 'Accepted with a schedule: nothing is sent now',
        value: {
          status: 'accepted',
          schedule: {
            status: 'accepted',
            schedule_id: '018f06e2-4f8d-7c01-8a0d-cc6fd78f7200',
            workflow_id: 'outbound:text-send-schedule:018f06e2-4f8d-7c01-8a0d-cc6fd78f7200',
            next_run_at_ms: 1777809600000,
            interval_ms: 86400000,
            max_occurrences: 5,
          },
          request_id: REQUEST_ID,
        },
      },
    },
  },
};

const whatsappDraft: OperationExamples = {
  request: {
    minimal: { summary: 'Start a draft for a session', value: { session_id: SESSION_ID } },
  },
  responses: {
    201: {
      saved: {
        summary: 'The saved draft',
        value: {
          id: '018f06e2-4f8d-7c01-8a0d-cc6fd78f7400',
          actor_user_id: 'user_2abc',
          session_id: SESSION_ID,
          session_name: 'shop',
          session_label: 'Shop WhatsApp',
          group_ids: [GROUP_ID],
          text: 'New arrivals this week',
          media: [
            {
              url: 'https://watchatic-media.example/outbound/org_123/watch.jpg',
              mimetype: 'image/jpeg',
              filename: 'watch.jpg',
            },
          ],
          created_at_ms: 1777800000000,
          updated_at_ms: 1777800000000,
          schedule: REFERENCE_SCHEDULE,
        },
      },
    },
  },
};

const EMAIL_ACCOUNT_ID = '018f06e2-4f8d-7c01-8a0d-cc6fd78f7500';
const EMAIL_DRAFT_UID = '018f06e2-4f8d-7c01-8a0d-cc6fd78f7501';

const emailDraftRecord = {
  uid: EMAIL_DRAFT_UID,
  from_account_id: EMAIL_ACCOUNT_ID,
  from_email: 'sender@mycompany.com',
  to: ['customer@example.com'],
  cc: [],
  bcc: [],
  subject: 'Follow-up on our conversation',
  body_text: 'Hi, just wanted to check in...',
  body_html: null,
  context_type: 'invoice',
  context_id: '018f06e2-4f8d-7c01-8a0d-cc6fd78f7502',
  planned_send_at: '2024-03-26T09:00:00Z',
  status: 'draft',
  created_at: '2024-03-25T10:30:00Z',
  updated_at: '2024-03-25T10:30:00Z',
  attachments: [],
  send_id: null,
  provider_message_id: null,
  error: null,
};

const emailDraft: OperationExamples = {
  request: {
    create: {
      summary: 'Create (no uid); from_account_id is required',
      value: {
        from_account_id: EMAIL_ACCOUNT_ID,
        to: ['customer@example.com'],
        subject: 'Follow-up on our conversation',
        body_text: 'Hi, just wanted to check in...',
      },
    },
    schedule: {
      summary: 'Create, sent at planned_send_at',
      value: {
        from_account_id: EMAIL_ACCOUNT_ID,
        to: ['customer@example.com'],
        subject: 'Follow-up on our conversation',
        body_text: 'Hi, just wanted to check in...',
        planned_send_at: '2024-03-26T09:00:00Z',
      },
    },
    update: {
      summary: 'Update (with uid): only the fields to change',
      value: {
        uid: EMAIL_DRAFT_UID,
        subject: 'Updated subject',
        body_text: 'Updated body',
      },
    },
  },
  responses: {
    201: { created: { summary: 'The full draft record', value: emailDraftRecord } },
    200: {
      updated: {
        summary: 'The full draft record',
        value: { ...emailDraftRecord, subject: 'Updated subject', body_text: 'Updated body' },
      },
    },
  },
};

const MESSAGE_DRAFT_ID = 'ob_bWQ6MDE5ZjAwMDAtMDAwMC03MDAwLTgwMDAtMDAwMDAwMDAwMDAw';

const messageDraftRecord = {
  draft_id: MESSAGE_DRAFT_ID,
  subject: 'Following up on your quote',
  body_html: '<p>Hi Diana, checking in on the quote we sent yesterday.</p>',
  modality: 'email',
  agent_id: null,
  recipient_name: 'Diana Prince',
  recipient_email: 'diana.prince@example.com',
  recipient_phone_number: '+15138675309',
  cc_emails: [],
  bcc_emails: [],
  scheduled_send_at: null,
  folder: 'sales-follow-up',
  created_at: '2026-05-21T14:30:00Z',
  status: 'draft',
};

const createMessageDraft: OperationExamples = {
  request: {
    save: {
      summary: 'Save an email draft for review',
      value: {
        modality: 'email',
        subject: 'Following up on your quote',
        body_html: '<p>Hi Diana, checking in on the quote we sent yesterday.</p>',
        to_user_name: 'Diana Prince',
        to_email: 'diana.prince@example.com',
        to_phone_number: '513-867-5309',
        cc_emails: ['steve.trevor@example.com'],
        bcc_emails: [],
        autosend_draft: false,
        add_notification: true,
        folder: 'Sales Follow-up',
      },
    },
  },
  responses: {
    201: {
      saved: {
        summary: 'Saved message draft',
        value: {
          draft_id: MESSAGE_DRAFT_ID,
          scheduled_to_send: false,
          scheduled_send_at: null,
          folder: 'sales-follow-up',
        },
      },
      queued: {
        summary: 'Queued to send (autosend_draft: true)',
        value: {
          draft_id: MESSAGE_DRAFT_ID,
          scheduled_to_send: true,
          scheduled_send_at: '2026-05-02T21:17:42.130649Z',
          folder: 'sales-follow-up',
        },
      },
    },
  },
};

const conversationDraft: OperationExamples = {
  request: {
    byEmail: {
      summary: 'Author and target agents by email',
      value: {
        content: 'Thanks, we are on it',
        author_email: 'ada@example.com',
        target_email: 'grace@example.com',
        title: 'Reply',
      },
    },
  },
  responses: {
    201: {
      created: {
        summary: 'Draft created',
        value: {
          created: '2023-11-07T05:31:56Z',
          last_updated: '2023-11-07T05:31:56Z',
          conversation_id: 123,
          id: 456,
          title: 'Reply',
          content: { content: 'Thanks, we are on it' },
          author_id: 7,
          target_id: 8,
        },
      },
    },
  },
};

/** Every operation the reference documents shows an example for. */
export const REFERENCE_EXAMPLES: Readonly<Record<string, OperationExamples>> = {
  createWhatsappSend: whatsappSend,
  createWhatsappDraft: whatsappDraft,
  saveEmailDraft: emailDraft,
  createMessageDraft,
  listMessageDrafts: {
    responses: {
      200: {
        page: {
          summary: 'One page of drafts',
          value: {
            data: [messageDraftRecord],
            pagination: { limit: 25, cursor: null, next_cursor: null, has_more: false },
          },
        },
      },
    },
  },
  getMessageDraft: {
    responses: { 200: { draft: { summary: 'One message draft', value: messageDraftRecord } } },
  },
  createConversationDraft: conversationDraft,
};
