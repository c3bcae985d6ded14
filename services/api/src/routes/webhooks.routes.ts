import type { Config } from '@outbound/config';
import {
  createWebhookEndpoint,
  type Db,
  disableWebhookEndpoint,
  findWebhookEndpoint,
  listWebhookEndpoints,
  webhookDeliveryStats,
} from '@outbound/db';
import { CredentialsCipher, generateWebhookSecret } from '@outbound/domain';
import type { AddressGuardOptions } from '@outbound/net-guard';
import { z } from 'zod';
import { AppError } from '../errors/app-error.ts';
import { errorResponseSchema } from '../errors/error-response.schema.ts';
import { defineRoute, type Route } from '../routing/route.ts';
import { checkWebhookUrl, type WebhookUrlConfig } from '../webhooks/webhook-url.ts';
import { webhookDeliveriesView, webhookNotFound, webhookView } from '../webhooks/webhook-view.ts';
import {
  createWebhookRequestSchema,
  createWebhookResponseSchema,
  getWebhookResponseSchema,
  listWebhooksResponseSchema,
  WEBHOOK_LIMITS,
} from './webhooks.schema.ts';

export interface WebhooksRoutesDeps {
  db: Db;
  config: WebhookUrlConfig & Pick<Config, 'CREDENTIALS_ENCRYPTION_KEY'>;
  /** Hostname resolver for the URL check; the OS resolver by default. */
  resolve?: AddressGuardOptions['resolve'];
}

const TAGS = ['webhooks'];
const params = z.object({ webhook_id: z.uuid() });
const notFound = {
  description: 'No such webhook endpoint in the organization (or it was deleted).',
  schema: errorResponseSchema,
};

/** `POST`/`GET /v2/webhooks`, `GET`/`DELETE /v2/webhooks/{webhook_id}`: status webhooks. */
export function webhooksRoutes(deps: WebhooksRoutesDeps): Route[] {
  const { db, config } = deps;
  // Secrets are sealed at rest the way sender credentials are.
  const cipher = new CredentialsCipher(config.CREDENTIALS_ENCRYPTION_KEY);

  const create = defineRoute({
    method: 'post',
    path: '/v2/webhooks',
    operationId: 'createWebhook',
    summary: 'Register a webhook endpoint',
    description:
      'Events of the chosen types are POSTed to the URL as JSON, signed in ' +
      '`Outbound-Signature` (see the README, "Webhooks"), and retried with exponential backoff ' +
      'for at least 24 hours until the endpoint answers 2xx. The answer carries the signing ' +
      '`secret`, which is never shown again.',
    tags: TAGS,
    auth: 'api-key',
    request: { body: createWebhookRequestSchema },
    responses: {
      201: { description: 'The endpoint, with its secret.', schema: createWebhookResponseSchema },
      409: {
        description: `The organization already has ${WEBHOOK_LIMITS.perOrganization} endpoints (\`conflict\`).`,
        schema: errorResponseSchema,
      },
    },
  }).handle(async ({ body, principal }, { requestId }) => {
    await checkWebhookUrl(body.url, config, deps.resolve);
    const secret = generateWebhookSecret();
    const endpoint = await createWebhookEndpoint(db, cipher, {
      organizationId: principal.organizationId,
      url: body.url,
      eventTypes: body.events,
      secret,
      maxPerOrganization: WEBHOOK_LIMITS.perOrganization,
    });
    if (endpoint === undefined) {
      throw AppError.of(
        'conflict',
        `An organization has at most ${WEBHOOK_LIMITS.perOrganization} webhook endpoints; ` +
          'delete one first',
        { limit: WEBHOOK_LIMITS.perOrganization },
      );
    }
    return {
      status: 201,
      body: { request_id: requestId, webhook: { ...webhookView(endpoint), secret } },
    };
  });

  const list = defineRoute({
    method: 'get',
    path: '/v2/webhooks',
    operationId: 'listWebhooks',
    summary: "The organization's webhook endpoints, oldest first (never their secrets)",
    tags: TAGS,
    auth: 'api-key',
    responses: { 200: { description: 'Every endpoint.', schema: listWebhooksResponseSchema } },
  }).handle(async ({ principal }, { requestId }) => ({
    status: 200,
    body: {
      request_id: requestId,
      webhooks: (await listWebhookEndpoints(db, principal.organizationId)).map(webhookView),
    },
  }));

  const get = defineRoute({
    method: 'get',
    path: '/v2/webhooks/{webhook_id}',
    operationId: 'getWebhook',
    summary: 'A webhook endpoint and how its deliveries went',
    description:
      'Counts of its webhook deliveries by status, and the newest ones with their attempts, ' +
      'last HTTP status and last error.',
    tags: TAGS,
    auth: 'api-key',
    request: { params },
    responses: {
      200: { description: 'The endpoint now.', schema: getWebhookResponseSchema },
      404: notFound,
    },
  }).handle(async ({ params, principal }, { requestId }) => {
    const endpoint = await findWebhookEndpoint(db, principal.organizationId, params.webhook_id);
    if (endpoint === undefined) throw webhookNotFound(params.webhook_id);
    const stats = await webhookDeliveryStats(
      db,
      principal.organizationId,
      endpoint.id,
      WEBHOOK_LIMITS.recent,
    );
    return {
      status: 200,
      body: {
        request_id: requestId,
        webhook: { ...webhookView(endpoint), deliveries: webhookDeliveriesView(stats) },
      },
    };
  });

  const remove = defineRoute({
    method: 'delete',
    path: '/v2/webhooks/{webhook_id}',
    operationId: 'deleteWebhook',
    summary: 'Delete a webhook endpoint',
    description:
      'No further event is sent to it, and its webhook deliveries still pending are canceled.',
    tags: TAGS,
    auth: 'api-key',
    request: { params },
    responses: { 204: { description: 'Deleted.' }, 404: notFound },
  }).handle(async ({ params, principal }) => {
    if (!(await disableWebhookEndpoint(db, principal.organizationId, params.webhook_id))) {
      throw webhookNotFound(params.webhook_id);
    }
    return { status: 204 };
  });

  return [create, list, get, remove];
}
