// Seeding in bulk: the rows a real send or schedule writes (see `createSend`, `createSchedule`),
// many per statement, and their jobs enqueued the way the API enqueues them.
import { sql } from 'kysely';
import {
  addGroupToSession,
  createGroup,
  createOrganization,
  createSender,
  type Db,
} from '@outbound/db';
import { CredentialsCipher, newId } from '@outbound/domain';
import {
  type Queues,
  enqueueDeliveries,
  type JobPayload,
  upsertScheduleJobScheduler,
} from '@outbound/queue';

/** The bench services' credentials key (see `serviceEnv`); WAHA sessions here hold none. */
const cipher = new CredentialsCipher(Buffer.alloc(32, 7).toString('base64'));

/** Rows per INSERT statement. */
const CHUNK = 5_000;

export interface WahaSession {
  organizationId: string;
  senderId: string;
  groups: { id: string; chatId: string }[];
}

/**
 * A WORKING WAHA session (session `default`, no API key) of a new organization, calling
 * `baseUrl`, allowed `perSecond` calls a second, with `groups` groups.
 */
export async function seedWahaSession(
  db: Db,
  options: { name: string; baseUrl: string; groups: number; perSecond: number },
): Promise<WahaSession> {
  const organization = await createOrganization(db, options.name);
  const sender = await createSender(db, cipher, {
    organizationId: organization.id,
    channel: 'whatsapp',
    provider: 'waha',
    name: `${options.name} session`,
    rateLimit: { max: options.perSecond, window_ms: 1_000 },
    settings: { base_url: options.baseUrl, session: 'default' },
  });
  const groups: WahaSession['groups'] = [];
  for (let i = 0; i < options.groups; i += 1) {
    const group = await createGroup(db, {
      organizationId: organization.id,
      chatId: `${options.name}-${i}@g.us`,
      name: `${options.name} group ${i}`,
    });
    await addGroupToSession(db, {
      organizationId: organization.id,
      groupId: group.id,
      sessionId: sender.id,
    });
    groups.push({ id: group.id, chatId: group.chat_id });
  }
  return { organizationId: organization.id, senderId: sender.id, groups };
}

const CONTENT = JSON.stringify({ text: 'benchmark message', media: [] });

/**
 * `sends` WhatsApp sends to every group of the session, as `createSend` writes them: the send,
 * one `queued` delivery per group and a `send.accepted` event. Returns the deliver job payloads.
 */
export async function seedQueuedSends(
  db: Db,
  session: WahaSession,
  sends: number,
): Promise<JobPayload<'deliver'>[]> {
  const jobs: JobPayload<'deliver'>[] = [];
  const { organizationId: org, senderId: sender, groups } = session;
  const plannedAt = new Date();
  for (let offset = 0; offset < sends; offset += Math.floor(CHUNK / groups.length)) {
    const count = Math.min(Math.floor(CHUNK / groups.length), sends - offset);
    const sendIds = Array.from({ length: count }, () => newId());
    const keys = sendIds.map(() => newId());
    const deliveryIds: string[] = [];
    const deliverySends: string[] = [];
    const groupIds: string[] = [];
    const recipients: string[] = [];
    for (const sendId of sendIds) {
      for (const group of groups) {
        deliveryIds.push(newId());
        deliverySends.push(sendId);
        groupIds.push(group.id);
        recipients.push(group.chatId);
      }
    }
    await db.transaction().execute(async (trx) => {
      await sql`
        INSERT INTO sends (id, organization_id, sender_id, channel, origin, actor_user_id, content,
                           idempotency_key, planned_at)
        SELECT id, ${org}::uuid, ${sender}::uuid, 'whatsapp', 'whatsapp_send', 'bench',
               ${CONTENT}::jsonb, key, ${plannedAt}
        FROM unnest(${sendIds}::uuid[], ${keys}::text[]) AS t (id, key)`.execute(trx);
      await sql`
        INSERT INTO deliveries (id, organization_id, send_id, sender_id, group_id, recipient, due_at)
        SELECT id, ${org}::uuid, send_id, ${sender}::uuid, group_id, recipient, ${plannedAt}
        FROM unnest(${deliveryIds}::uuid[], ${deliverySends}::uuid[], ${groupIds}::uuid[],
                    ${recipients}::text[]) AS t (id, send_id, group_id, recipient)`.execute(trx);
      await sql`
        INSERT INTO events (id, organization_id, type, send_id, payload)
        SELECT id, ${org}::uuid, 'send.accepted', send_id,
               ${JSON.stringify({ deliveries: groups.length, origin: 'whatsapp_send' })}::jsonb
        FROM unnest(${sendIds.map(() => newId())}::uuid[], ${sendIds}::uuid[]) AS t (id, send_id)`.execute(
        trx,
      );
    });
    for (const id of deliveryIds) jobs.push({ delivery_id: id, organization_id: org });
  }
  return jobs;
}

/** Adds the deliver jobs with the API's own helper (job id = delivery id), `batch` per addBulk. */
export async function enqueueAll(
  queues: Queues,
  jobs: readonly JobPayload<'deliver'>[],
  batch = 1_000,
): Promise<void> {
  for (let offset = 0; offset < jobs.length; offset += batch) {
    await enqueueDeliveries(queues, jobs.slice(offset, offset + batch));
  }
}

/**
 * One-shot schedules of the session to all its groups, the i-th first due at `dueAt[i]`, as
 * `createSchedule` writes them (the schedule and a `schedule.created` event), then their job
 * schedulers upserted as the API does after commit. Returns the schedule ids.
 */
export async function seedOneShotSchedules(
  db: Db,
  queues: Queues,
  session: WahaSession,
  dueAt: readonly Date[],
): Promise<string[]> {
  const { organizationId: org, senderId: sender } = session;
  const groupIds = session.groups.map((group) => group.id);
  const ids = dueAt.map(() => newId());
  for (let offset = 0; offset < ids.length; offset += CHUNK) {
    const chunkIds = ids.slice(offset, offset + CHUNK);
    const chunkDue = dueAt.slice(offset, offset + CHUNK);
    await db.transaction().execute(async (trx) => {
      await sql`
        INSERT INTO schedules (id, organization_id, sender_id, actor_user_id, group_ids, content,
                               first_run_at, interval_ms, max_occurrences, next_run_at)
        SELECT id, ${org}::uuid, ${sender}::uuid, 'bench', ${groupIds}::uuid[], ${CONTENT}::jsonb,
               due, NULL, 1, due
        FROM unnest(${chunkIds}::uuid[], ${chunkDue}::timestamptz[]) AS t (id, due)`.execute(trx);
      await sql`
        INSERT INTO events (id, organization_id, type, schedule_id, payload)
        SELECT event_id, ${org}::uuid, 'schedule.created', id,
               jsonb_build_object('first_run_at_ms', (extract(epoch FROM due) * 1000)::bigint,
                                  'interval_ms', NULL, 'max_occurrences', 1, 'request_id', NULL)
        FROM unnest(${chunkIds.map(() => newId())}::uuid[], ${chunkIds}::uuid[],
                    ${chunkDue}::timestamptz[]) AS t (event_id, id, due)`.execute(trx);
    });
  }
  let next = 0;
  const upsert = async (): Promise<void> => {
    for (let i = next++; i < ids.length; i = next++) {
      await upsertScheduleJobScheduler(queues, {
        scheduleId: ids[i]!,
        organizationId: org,
        firstRunAt: dueAt[i]!,
        intervalMs: null,
        nextRunAt: dueAt[i]!,
      });
    }
  };
  await Promise.all(Array.from({ length: 32 }, upsert));
  return ids;
}
