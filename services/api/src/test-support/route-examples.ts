import type { ExampleRequest } from './fuzz-requests.ts';
import { REFERENCE_CREATE_REQUEST } from './message-drafts.ts';
import type { SecurityTenant } from './security-world.ts';

/** `METHOD /openapi/path`, as the OpenAPI document names an operation. */
export type OperationKey = string;

export function operationKey(method: string, path: string): OperationKey {
  return `${method.toUpperCase()} ${path}`;
}

/** Every operation of an OpenAPI document, with what the fuzzer needs to know of it. */
export interface DocumentedOperation {
  key: OperationKey;
  method: string;
  path: string;
  authenticated: boolean;
  takesBody: boolean;
}

interface OpenApiOperation {
  security?: unknown[];
  requestBody?: unknown;
}

/** The operations `/openapi.json` documents, in document order. */
export function documentedOperations(document: {
  paths: Record<string, Record<string, OpenApiOperation>>;
}): DocumentedOperation[] {
  return Object.entries(document.paths).flatMap(([path, item]) =>
    Object.entries(item).map(([method, operation]) => ({
      key: operationKey(method, path),
      method,
      path,
      authenticated: (operation.security?.length ?? 0) > 0,
      takesBody: operation.requestBody !== undefined,
    })),
  );
}

const pngOf = (tenant: SecurityTenant) => ({ url: tenant.mediaUrl, mimetype: 'image/png' });

/**
 * A valid request for every operation of the API, made from a tenant's objects: where fuzzing
 * starts from. A test fails when an operation has no entry, so a new route gets one.
 */
export const ROUTE_EXAMPLES: Readonly<
  Record<OperationKey, (tenant: SecurityTenant) => ExampleRequest>
> = {
  'GET /healthz': () => ({}),
  'GET /readyz': () => ({}),
  'GET /openapi.json': () => ({}),
  'GET /docs': () => ({}),
  'GET /metrics': () => ({}),
  'GET /v2/me': () => ({}),
  'POST /v2/outbound/sends': (t) => ({
    body: {
      session_id: t.sessionId,
      group_ids: t.groupIds,
      idempotency_key: `${t.name}-fuzz`,
      text: 'Hello',
      schedule: {
        first_run_at_ms: Date.now() + 86_400_000,
        interval_ms: 60_000,
        max_occurrences: 2,
      },
    },
  }),
  'GET /v2/outbound/sends': (t) => ({ query: { schedule_id: t.scheduleId, limit: '10' } }),
  'GET /v2/outbound/sends/{send_id}': (t) => ({ params: { send_id: t.sendId } }),
  'GET /v2/outbound/schedules/{schedule_id}': (t) => ({ params: { schedule_id: t.scheduleId } }),
  'DELETE /v2/outbound/schedules/{schedule_id}': (t) => ({
    params: { schedule_id: t.scheduleId },
  }),
  'GET /v2/sessions': () => ({}),
  'GET /v2/groups': (t) => ({ query: { session_id: t.sessionId } }),
  'GET /v2/sandbox/messages': (t) => ({
    query: { send_id: t.sendId, limit: '5', before: t.sandboxMessageId },
  }),
  'GET /media/{media_id}/{filename}': (t) => {
    const url = new URL(t.mediaUrl);
    return {
      params: { media_id: t.mediaId, filename: 'dot.png' },
      query: { sig: url.searchParams.get('sig') ?? '' },
    };
  },
  'POST /v2/outbound/drafts': (t) => ({
    body: {
      session_id: t.sessionId,
      group_ids: t.groupIds,
      text: 'Draft',
      media: [pngOf(t)],
      schedule: { first_run_at_ms: 1_777_809_600_000, interval_ms: 3_600_000, max_occurrences: 3 },
    },
  }),
  'GET /v2/outbound/drafts': (t) => ({ query: { limit: '10', session_id: t.sessionId } }),
  'GET /v2/outbound/drafts/{draft_id}': (t) => ({ params: { draft_id: t.whatsappDraftId } }),
  'PUT /v2/outbound/drafts/{draft_id}': (t) => ({
    params: { draft_id: t.whatsappDraftId },
    body: { session_id: t.sessionId, group_ids: [t.groupIds[0]], text: 'Edited', media: [] },
  }),
  'DELETE /v2/outbound/drafts/{draft_id}': (t) => ({ params: { draft_id: t.whatsappDraftId } }),
  'POST /api/email/drafts': (t) => ({
    body: {
      from_account_id: t.emailAccountId,
      to: ['ada@example.com'],
      cc: ['grace@example.com'],
      bcc: [],
      subject: 'Quote',
      body_text: 'Hi',
      body_html: '<p>Hi</p>',
      attachments: [{ filename: 'quote.txt', content_type: 'text/plain', data_base64: 'aGk=' }],
      context_type: 'invoice',
      context_id: '019a0000-0000-7000-8000-000000000001',
      planned_send_at: null,
    },
  }),
  'GET /api/email/drafts': () => ({ query: { limit: '10', status: 'draft' } }),
  'GET /api/email/drafts/{uid}': (t) => ({ params: { uid: t.emailDraftUid } }),
  'DELETE /api/email/drafts/{uid}': (t) => ({ params: { uid: t.emailDraftUid } }),
  'POST /api/email/drafts/{uid}/send': (t) => ({ params: { uid: t.emailDraftUid } }),
  'POST /api/v2/organizations/{organization_id}/message-drafts': (t) => ({
    params: { organization_id: t.organizationId },
    body: REFERENCE_CREATE_REQUEST,
  }),
  'GET /api/v2/organizations/{organization_id}/message-drafts': (t) => ({
    params: { organization_id: t.organizationId },
    query: { limit: '10', start_date: '2020-01-01' },
  }),
  'GET /api/v2/organizations/{organization_id}/message-drafts/{draft_id}': (t) => ({
    params: { organization_id: t.organizationId, draft_id: t.messageDraftId },
  }),
  'DELETE /api/v2/organizations/{organization_id}/message-drafts/{draft_id}': (t) => ({
    params: { organization_id: t.organizationId, draft_id: t.messageDraftId },
  }),
  'GET /v3/conversations/{conversation_id}': (t) => ({
    params: { conversation_id: String(t.conversationId) },
  }),
  'POST /v3/conversations/{conversation_id}/drafts': (t) => ({
    params: { conversation_id: String(t.conversationId) },
    body: { content: 'On it', title: 'Reply', author_email: t.agentEmail, target_id: t.agentId },
  }),
  'GET /v3/conversations/{conversation_id}/drafts': (t) => ({
    params: { conversation_id: String(t.conversationId) },
    query: { limit: '10' },
  }),
  'GET /v3/conversations/{conversation_id}/drafts/{draft_id}': (t) => ({
    params: {
      conversation_id: String(t.conversationId),
      draft_id: String(t.conversationDraftId),
    },
  }),
  'DELETE /v3/conversations/{conversation_id}/drafts/{draft_id}': (t) => ({
    params: {
      conversation_id: String(t.conversationId),
      draft_id: String(t.conversationDraftId),
    },
  }),
  'GET /v3/response-drafts/{draft_id}': (t) => ({ params: { draft_id: t.responseDraftId } }),
  'POST /v2/webhooks': (t) => ({
    body: {
      url: `https://hooks.${t.name}.example/outbound`,
      events: ['send.sent', 'delivery.failed'],
    },
  }),
  'GET /v2/webhooks': () => ({}),
  'GET /v2/webhooks/{webhook_id}': (t) => ({ params: { webhook_id: t.webhookId } }),
  'DELETE /v2/webhooks/{webhook_id}': (t) => ({ params: { webhook_id: t.webhookId } }),
};
