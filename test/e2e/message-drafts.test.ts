import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSender } from '@outbound/db';
import { MAGIC_FROM_VALID, startTwilioServer, type TwilioServer } from '../fakes/twilio-server.ts';
import {
  e2eCipher,
  emailStackEnv,
  seedEmailOrganization,
  type EmailOrganization,
} from '../support/email-drafts-api.ts';
import {
  createTestDatabase,
  createTestRedis,
  type TestDatabase,
  type TestRedis,
} from '../support/harness.ts';
import { waitFor } from '../support/wait-for.ts';
import { startStack, type Stack } from '../support/stack.ts';

const ACCOUNT_SID = `AC${'0123456789abcdef'.repeat(2)}`;
const AUTH_TOKEN = 'twilio-e2e-auth-token';

/**
 * A text message draft autosent through the API and a dispatcher process to a local server
 * speaking Twilio's API, then promoted into a conversation.
 */
describe('message drafts through Twilio, end to end', () => {
  let database: TestDatabase;
  let redis: TestRedis;
  let twilio: TwilioServer;
  let stack: Stack | undefined;
  let organization: EmailOrganization;

  beforeAll(async () => {
    database = await createTestDatabase();
    redis = createTestRedis();
    twilio = await startTwilioServer({ accountSid: ACCOUNT_SID, authToken: AUTH_TOKEN });
    stack = await startStack(emailStackEnv(database, redis));
    organization = await seedEmailOrganization(database.db, 'message-drafts-e2e');
    await createSender(database.db, e2eCipher, {
      organizationId: organization.organizationId,
      channel: 'sms',
      provider: 'twilio',
      name: 'support line',
      address: MAGIC_FROM_VALID,
      rateLimit: { max: 10, window_ms: 1_000 },
      settings: { base_url: twilio.url, account_sid: ACCOUNT_SID, from: MAGIC_FROM_VALID },
      credentials: { auth_token: AUTH_TOKEN },
    });
  });

  afterAll(async () => {
    await Promise.all([stack?.api.stop('SIGKILL'), stack?.dispatcher.stop('SIGKILL')]);
    await twilio?.stop();
    await redis.clear();
    await database.drop();
  });

  it('sends an autosent text draft with the right To, From and Body, then promotes it', async () => {
    const base = `${stack!.url}/api/v2/organizations/${organization.organizationId}/message-drafts`;
    const created = await fetch(base, {
      method: 'POST',
      headers: organization.headers,
      body: JSON.stringify({
        modality: 'text',
        body_html: '<p>Hi Diana, your order <b>#42</b> has shipped.</p>',
        to_user_name: 'Diana Prince',
        to_phone_number: '513-867-5309',
        autosend_draft: true,
        add_notification: false,
      }),
    });
    expect(created.status).toBe(201);
    const draft = (await created.json()) as { draft_id: string; scheduled_to_send: boolean };
    expect(draft.scheduled_to_send).toBe(true);

    const [message] = await waitFor(() =>
      Promise.resolve(twilio.messages().length > 0 ? twilio.messages() : undefined),
    );
    expect(message).toMatchObject({
      to: '+15138675309',
      from: MAGIC_FROM_VALID,
      body: 'Hi Diana, your order #42 has shipped.',
      authenticatedAs: ACCOUNT_SID,
    });

    // Once sent, the draft lives on as a conversation: its detail answers 404 with the route.
    const hint = await waitFor(async () => {
      const response = await fetch(`${base}/${draft.draft_id}`, { headers: organization.headers });
      if (response.status !== 404) return undefined;
      return (await response.json()) as { error: { code: string; details?: { route?: string } } };
    });
    const route = hint.error.details?.route;
    expect(route).toMatch(/^\/v3\/conversations\/\d+$/);

    const conversation = await fetch(`${stack!.url}${route}`, { headers: organization.headers });
    expect(conversation.status).toBe(200);
    expect(await conversation.json()).toMatchObject({
      modality: 'text',
      recipient_phone_number: '+15138675309',
      messages: [{ direction: 'outbound', body_html: expect.stringContaining('#42') as unknown }],
    });
    expect(twilio.messages()).toHaveLength(1);
  });
});
