import { decodeOpaqueId, encodeOpaqueId } from '@outbound/domain';
import { createTestDatabase, createTestRedis, type TestDatabase } from '@outbound/test/harness';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mediaUrl } from '../media/media-urls.ts';
import { sendsCursor } from '../sends/list-sends.ts';
import { documentedOperations, operationKey } from '../test-support/route-examples.ts';
import { callAs, seedSecurityTenant, type SecurityTenant } from '../test-support/security-world.ts';
import { changedTables, tableFingerprint } from '../test-support/table-fingerprint.ts';
import { startTestApp, type TestApp } from '../test-support/test-app.ts';

/**
 * The tenant-isolation matrix: for every route and field that takes an id (path, query or
 * body), the id of another organization's object answers exactly as a missing id of the same
 * kind does: same status, same error code, same message and details once the id itself is
 * masked, and nothing written. A documented id field with no matrix entry (and no reason to be
 * left out) fails the first test, so a new id-taking route must join the matrix.
 */

/** A documented field that names an object: `…_id`, `…_ids`, `uid`, `before`, `cursor`, `media`. */
const ID_FIELD = /(^|_)(id|ids|uid)$|^(before|cursor|media)$/;

/** Id fields deliberately outside the matrix, and why. */
const EXEMPT: Readonly<Record<string, string>> = {
  'GET /api/email/drafts query:context_id':
    "the caller's own context id, stored as given: it names no Outbound object",
  'POST /api/email/drafts body:context_id':
    "the caller's own context id, stored as given: it names no Outbound object",
  'GET /api/email/drafts query:cursor':
    "a keyset position (time, id) checked against the listing's filters; it reads no row",
  'GET /v2/outbound/drafts query:cursor':
    "a keyset position (time, id); it reads no row, so answers only the caller's own drafts",
  'GET /api/v2/organizations/{organization_id}/message-drafts query:cursor':
    "a keyset position (time, id); it reads no row, so answers only the caller's own drafts",
  'GET /v3/conversations/{conversation_id}/drafts query:cursor':
    'a keyset position bound to the conversation in the path, which is checked first',
};

interface MatrixCase {
  /** `METHOD /path location:name`: the documented field the case covers. */
  field: string;
  /** The caller's request, naming `id` where the field goes. */
  request: (id: string) => { method: string; path: string; body?: unknown };
  /** The other organization's object, and a missing one of the same kind. */
  foreign: () => string;
  missing: () => string;
  /** A listing filter or cursor: both answer 200 with the same (caller's own) page. */
  listing?: boolean;
}

const redis = createTestRedis();
let database: TestDatabase;
let api: TestApp;
let own: SecurityTenant;
let theirs: SecurityTenant;
let documentedFields: string[];

/** An id of the same kind and shape that names nothing: the last hex digit changed. */
const missingUuid = (id: string) => `${id.slice(0, -1)}${id.endsWith('0') ? '1' : '0'}`;
const MISSING_INT = '2000000000';

beforeAll(async () => {
  database = await createTestDatabase();
  api = await startTestApp(database, redis);
  own = await seedSecurityTenant(database.db, api.url, api.config, 'own');
  theirs = await seedSecurityTenant(database.db, api.url, api.config, 'theirs');
  const document = (await (await fetch(`${api.url}/openapi.json`)).json()) as {
    paths: Record<string, Record<string, OpenApiOperation>>;
    components: { schemas: Record<string, { properties?: Record<string, unknown> }> };
  };
  documentedFields = documentedIdFields(document);
}, 60_000);

afterAll(async () => {
  await api.stop();
  await database.drop();
  await redis.clear();
});

interface OpenApiOperation {
  parameters?: { in: string; name: string }[];
  requestBody?: { content: Record<string, { schema: { $ref?: string } }> };
}

/** Every `METHOD /path location:name` of the document whose name says it takes an id. */
function documentedIdFields(document: {
  paths: Record<string, Record<string, OpenApiOperation>>;
  components: { schemas: Record<string, { properties?: Record<string, unknown> }> };
}): string[] {
  const operations = documentedOperations(document);
  return operations.flatMap(({ key, method, path }) => {
    const operation = document.paths[path]![method]!;
    const parameters = (operation.parameters ?? []).map((p) => `${p.in}:${p.name}`);
    const schema = operation.requestBody?.content['application/json']?.schema;
    const name = schema?.$ref?.split('/').at(-1);
    const properties = Object.keys(
      (name === undefined ? undefined : document.components.schemas[name]?.properties) ?? {},
    ).map((property) => `body:${property}`);
    return [...parameters, ...properties]
      .filter((field) => ID_FIELD.test(field.slice(field.indexOf(':') + 1)))
      .map((field) => `${key} ${field}`);
  });
}

const sendBody = (fields: Record<string, unknown>) => ({
  session_id: own.sessionId,
  group_ids: [own.groupIds[0]],
  idempotency_key: `matrix-${crypto.randomUUID()}`,
  text: 'hello',
  ...fields,
});
const draftBody = (fields: Record<string, unknown>) => ({
  session_id: own.sessionId,
  text: 'hello',
  ...fields,
});
const png = (url: string) => [{ url, mimetype: 'image/png' }];
const messageDrafts = (org: string) => `/api/v2/organizations/${org}/message-drafts`;
const conversationDrafts = (id: string) => `/v3/conversations/${id}/drafts`;

/** Every case of the matrix; ids come from the tenants once they exist. */
const MATRIX: MatrixCase[] = [
  {
    field: 'GET /v2/outbound/sends/{send_id} path:send_id',
    request: (id) => ({ method: 'GET', path: `/v2/outbound/sends/${id}` }),
    foreign: () => theirs.sendId,
    missing: () => missingUuid(theirs.sendId),
  },
  {
    field: 'GET /v2/outbound/sends query:schedule_id',
    request: (id) => ({ method: 'GET', path: `/v2/outbound/sends?schedule_id=${id}` }),
    foreign: () => theirs.scheduleId,
    missing: () => missingUuid(theirs.scheduleId),
  },
  {
    field: 'GET /v2/outbound/sends query:cursor',
    request: (id) => ({ method: 'GET', path: `/v2/outbound/sends?cursor=${sendsCursor(id)}` }),
    foreign: () => theirs.sendId,
    missing: () => missingUuid(theirs.sendId),
  },
  ...(['GET', 'DELETE'] as const).map((method): MatrixCase => ({
    field: `${method} /v2/outbound/schedules/{schedule_id} path:schedule_id`,
    request: (id) => ({ method, path: `/v2/outbound/schedules/${id}` }),
    foreign: () => theirs.scheduleId,
    missing: () => missingUuid(theirs.scheduleId),
  })),
  {
    field: 'GET /v2/groups query:session_id',
    request: (id) => ({ method: 'GET', path: `/v2/groups?session_id=${id}` }),
    foreign: () => theirs.sessionId,
    missing: () => missingUuid(theirs.sessionId),
  },
  {
    field: 'GET /v2/sandbox/messages query:send_id',
    request: (id) => ({ method: 'GET', path: `/v2/sandbox/messages?send_id=${id}` }),
    foreign: () => theirs.sendId,
    missing: () => missingUuid(theirs.sendId),
  },
  {
    field: 'GET /v2/sandbox/messages query:before',
    request: (id) => ({ method: 'GET', path: `/v2/sandbox/messages?before=${id}` }),
    foreign: () => theirs.sandboxMessageId,
    missing: () => missingUuid(theirs.sandboxMessageId),
    listing: true,
  },
  {
    // A signed URL is a capability (providers fetch it without a key); under the caller's own
    // signature, another organization's media id is as unknown as a missing one.
    field: 'GET /media/{media_id}/{filename} path:media_id',
    request: (id) => ({
      method: 'GET',
      path: `/media/${id}/dot.png?${new URL(own.mediaUrl).searchParams.toString()}`,
    }),
    foreign: () => theirs.mediaId,
    missing: () => missingUuid(theirs.mediaId),
  },
  {
    field: 'POST /v2/outbound/sends body:session_id',
    request: (id) => ({
      method: 'POST',
      path: '/v2/outbound/sends',
      body: sendBody({ session_id: id }),
    }),
    foreign: () => theirs.sessionId,
    missing: () => missingUuid(theirs.sessionId),
  },
  {
    field: 'POST /v2/outbound/sends body:group_ids',
    request: (id) => ({
      method: 'POST',
      path: '/v2/outbound/sends',
      body: sendBody({ group_ids: [id] }),
    }),
    foreign: () => theirs.groupIds[0],
    missing: () => missingUuid(theirs.groupIds[0]),
  },
  {
    field: 'POST /v2/outbound/sends body:media',
    request: (url) => ({
      method: 'POST',
      path: '/v2/outbound/sends',
      body: sendBody({ media: png(url) }),
    }),
    foreign: () => theirs.mediaUrl,
    missing: () => mediaUrl(api.config, { id: missingUuid(theirs.mediaId), filename: 'dot.png' }),
  },
  ...(['POST', 'PUT'] as const).flatMap((method): MatrixCase[] => {
    const path = method === 'POST' ? '/v2/outbound/drafts' : '/v2/outbound/drafts/{draft_id}';
    const target = () =>
      method === 'POST' ? '/v2/outbound/drafts' : `/v2/outbound/drafts/${own.whatsappDraftId}`;
    return [
      {
        field: `${method} ${path} body:session_id`,
        request: (id) => ({ method, path: target(), body: draftBody({ session_id: id }) }),
        foreign: () => theirs.sessionId,
        missing: () => missingUuid(theirs.sessionId),
      },
      {
        field: `${method} ${path} body:group_ids`,
        request: (id) => ({ method, path: target(), body: draftBody({ group_ids: [id] }) }),
        foreign: () => theirs.groupIds[0],
        missing: () => missingUuid(theirs.groupIds[0]),
      },
      {
        field: `${method} ${path} body:media`,
        request: (url) => ({ method, path: target(), body: draftBody({ media: png(url) }) }),
        foreign: () => theirs.mediaUrl,
        missing: () =>
          mediaUrl(api.config, { id: missingUuid(theirs.mediaId), filename: 'dot.png' }),
      },
    ];
  }),
  {
    field: 'GET /v2/outbound/drafts query:session_id',
    request: (id) => ({ method: 'GET', path: `/v2/outbound/drafts?session_id=${id}` }),
    foreign: () => theirs.sessionId,
    missing: () => missingUuid(theirs.sessionId),
  },
  ...(['GET', 'PUT', 'DELETE'] as const).map((method): MatrixCase => ({
    field: `${method} /v2/outbound/drafts/{draft_id} path:draft_id`,
    request: (id) => ({
      method,
      path: `/v2/outbound/drafts/${id}`,
      ...(method === 'PUT' ? { body: draftBody({}) } : {}),
    }),
    foreign: () => theirs.whatsappDraftId,
    missing: () => missingUuid(theirs.whatsappDraftId),
  })),
  {
    field: 'POST /api/email/drafts body:uid',
    request: (id) => ({
      method: 'POST',
      path: '/api/email/drafts',
      body: { uid: id, subject: 'Mine now' },
    }),
    foreign: () => theirs.emailDraftUid,
    missing: () => missingUuid(theirs.emailDraftUid),
  },
  {
    field: 'POST /api/email/drafts body:from_account_id',
    request: (id) => ({
      method: 'POST',
      path: '/api/email/drafts',
      body: { from_account_id: id, to: ['ada@example.com'] },
    }),
    foreign: () => theirs.emailAccountId,
    missing: () => missingUuid(theirs.emailAccountId),
  },
  ...(
    [
      ['GET', '/api/email/drafts/{uid}'],
      ['DELETE', '/api/email/drafts/{uid}'],
      ['POST', '/api/email/drafts/{uid}/send'],
    ] as const
  ).map(([method, path]): MatrixCase => ({
    field: `${method} ${path} path:uid`,
    request: (id) => ({ method, path: path.replace('{uid}', id) }),
    foreign: () => theirs.emailDraftUid,
    missing: () => missingUuid(theirs.emailDraftUid),
  })),
  ...(
    [
      ['POST', ''],
      ['GET', ''],
      ['GET', '/{draft_id}'],
      ['DELETE', '/{draft_id}'],
    ] as const
  ).map(([method, rest]): MatrixCase => ({
    field: `${method} ${messageDrafts('{organization_id}')}${rest} path:organization_id`,
    request: (id) => ({
      method,
      path: `${messageDrafts(id)}${rest.replace('{draft_id}', theirs.messageDraftId)}`,
      ...(method === 'POST'
        ? { body: { modality: 'email', subject: 'Hi', to_email: 'ada@example.com' } }
        : {}),
    }),
    foreign: () => theirs.organizationId,
    missing: () => missingUuid(theirs.organizationId),
  })),
  ...(['GET', 'DELETE'] as const).map((method): MatrixCase => ({
    field: `${method} ${messageDrafts('{organization_id}')}/{draft_id} path:draft_id`,
    request: (id) => ({ method, path: `${messageDrafts(own.organizationId)}/${id}` }),
    foreign: () => theirs.messageDraftId,
    missing: () => {
      const decoded = decodeOpaqueId(theirs.messageDraftId)!;
      return encodeOpaqueId('message_draft', missingUuid(decoded.id));
    },
  })),
  ...(
    [
      ['GET', '/v3/conversations/{conversation_id}', ''],
      ['POST', '/v3/conversations/{conversation_id}/drafts', '/drafts'],
      ['GET', '/v3/conversations/{conversation_id}/drafts', '/drafts'],
      ['GET', '/v3/conversations/{conversation_id}/drafts/{draft_id}', '/drafts/{draft_id}'],
      ['DELETE', '/v3/conversations/{conversation_id}/drafts/{draft_id}', '/drafts/{draft_id}'],
    ] as const
  ).map(([method, path, rest]): MatrixCase => ({
    field: `${method} ${path} path:conversation_id`,
    request: (id) => ({
      method,
      path: `/v3/conversations/${id}${rest.replace('{draft_id}', String(theirs.conversationDraftId))}`,
      ...(method === 'POST' ? { body: { content: 'x', author_id: own.agentId } } : {}),
    }),
    foreign: () => String(theirs.conversationId),
    missing: () => MISSING_INT,
  })),
  ...(['GET', 'DELETE'] as const).map((method): MatrixCase => ({
    field: `${method} /v3/conversations/{conversation_id}/drafts/{draft_id} path:draft_id`,
    request: (id) => ({ method, path: `${conversationDrafts(String(own.conversationId))}/${id}` }),
    foreign: () => String(theirs.conversationDraftId),
    missing: () => MISSING_INT,
  })),
  ...(['author_id', 'target_id'] as const).map((name): MatrixCase => ({
    field: `POST /v3/conversations/{conversation_id}/drafts body:${name}`,
    request: (id) => ({
      method: 'POST',
      path: conversationDrafts(String(own.conversationId)),
      body: { content: 'x', author_id: own.agentId, [name]: Number(id) },
    }),
    foreign: () => String(theirs.agentId),
    missing: () => MISSING_INT,
  })),
  ...(['author_email', 'target_email'] as const).map((name): MatrixCase => ({
    field: `POST /v3/conversations/{conversation_id}/drafts body:${name}`,
    request: (email) => ({
      method: 'POST',
      path: conversationDrafts(String(own.conversationId)),
      body: { content: 'x', author_id: own.agentId, [name]: email },
    }),
    foreign: () => theirs.agentEmail,
    missing: () => 'nobody@theirs.example',
  })),
  {
    field: 'GET /v3/response-drafts/{draft_id} path:draft_id',
    request: (id) => ({ method: 'GET', path: `/v3/response-drafts/${id}` }),
    foreign: () => theirs.responseDraftId,
    missing: () => encodeOpaqueId('response_draft', MISSING_INT),
  },
  ...(['GET', 'DELETE'] as const).map((method): MatrixCase => ({
    field: `${method} /v2/webhooks/{webhook_id} path:webhook_id`,
    request: (id) => ({ method, path: `/v2/webhooks/${id}` }),
    foreign: () => theirs.webhookId,
    missing: () => missingUuid(theirs.webhookId),
  })),
];

const UUIDS = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g;

/**
 * The answer with the asked id masked (and the ids inside it, such as a media URL's), and the
 * request id dropped, for comparing two answers.
 */
async function masked(response: Response, id: string): Promise<{ status: number; body: string }> {
  const tokens = [id, ...(id.match(UUIDS) ?? [])].sort((a, b) => b.length - a.length);
  const maskText = (text: string): string =>
    tokens.reduce((masking, token) => {
      const escaped = token.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      return masking.replace(new RegExp(`(?<![A-Za-z0-9])${escaped}(?![A-Za-z0-9])`, 'g'), '<id>');
    }, text);
  const mask = (value: unknown): unknown => {
    if (typeof value === 'string') return maskText(value);
    if (typeof value === 'number') return tokens.includes(String(value)) ? '<id>' : value;
    if (Array.isArray(value)) return value.map(mask);
    if (typeof value === 'object' && value !== null) {
      return Object.fromEntries(
        Object.entries(value)
          .filter(([key]) => key !== 'request_id')
          .map(([key, item]) => [key, mask(item)]),
      );
    }
    return value;
  };
  const text = await response.text();
  const body = text.startsWith('{') ? mask(JSON.parse(text)) : maskText(text);
  return { status: response.status, body: JSON.stringify(body) };
}

describe('tenant isolation', () => {
  it('has a matrix entry (or a stated reason) for every documented field that takes an id', () => {
    const covered = new Set([...MATRIX.map((entry) => entry.field), ...Object.keys(EXEMPT)]);
    expect(documentedFields.filter((field) => !covered.has(field))).toEqual([]);
    // And no entry names a field the API does not have.
    const known = new Set(documentedFields);
    const extra = ['author_email', 'target_email'];
    expect(
      [...covered].filter(
        (field) => !known.has(field) && !extra.some((name) => field.endsWith(`body:${name}`)),
      ),
    ).toEqual([]);
  });

  it.each(MATRIX.map((entry) => [entry.field, entry] as const))(
    '%s: another organization’s object answers as a missing one',
    async (_, entry) => {
      const foreign = entry.foreign();
      const missing = entry.missing();
      expect(foreign).not.toBe(missing);
      const before = await tableFingerprint(database.db);
      const asForeign = entry.request(foreign);
      const foreignAnswer = await masked(
        await callAs(api.url, own, asForeign.method, asForeign.path, asForeign.body),
        foreign,
      );
      const asMissing = entry.request(missing);
      const missingAnswer = await masked(
        await callAs(api.url, own, asMissing.method, asMissing.path, asMissing.body),
        missing,
      );
      expect(foreignAnswer).toEqual(missingAnswer);
      if (entry.listing === true) {
        expect(foreignAnswer.status).toBe(200);
      } else {
        expect(foreignAnswer.status).toBeGreaterThanOrEqual(400);
        expect(foreignAnswer.status).toBeLessThan(500);
        expect(changedTables(before, await tableFingerprint(database.db))).toEqual([]);
      }
      // Every case goes through the same route as the field it names.
      expect(entry.field.startsWith(operationKey(asForeign.method, ''))).toBe(true);
    },
  );

  it('keeps idempotency keys per organization: one key in two organizations makes two sends', async () => {
    const send = async (tenant: SecurityTenant) => {
      const response = await callAs(api.url, tenant, 'POST', '/v2/outbound/sends', {
        session_id: tenant.sessionId,
        group_ids: tenant.groupIds,
        idempotency_key: 'shared-key',
        text: 'same key, two organizations',
      });
      expect(response.status).toBe(202);
      return (await response.json()) as { status: string; send: { send_id: string } };
    };
    const first = await send(own);
    const second = await send(theirs);
    expect([first.status, second.status]).toEqual(['accepted', 'accepted']);
    expect(first.send.send_id).not.toBe(second.send.send_id);
    const replay = await send(theirs);
    expect(replay.status).toBe('duplicate_accepted');
    expect(replay.send.send_id).toBe(second.send.send_id);
    const rows = await database.db
      .selectFrom('sends')
      .select(['organization_id'])
      .where('idempotency_key', '=', 'shared-key')
      .execute();
    expect(rows.map((row) => row.organization_id).sort()).toEqual(
      [own.organizationId, theirs.organizationId].sort(),
    );
  });
});
