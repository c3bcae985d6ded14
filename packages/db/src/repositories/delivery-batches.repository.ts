import { sql, type RawBuilder } from 'kysely';
import { newId } from '@outbound/domain';
import type { Db } from '../connection.ts';
import type { Executor } from './executor.ts';
import { lockSends, refreshSendStatuses } from './send-status.ts';
import type {
  AttemptRef,
  DeliveryError,
  DeliveryForSending,
  DeliveryRef,
} from './delivery-types.ts';

/**
 * The dispatcher's hot path, many deliveries per statement. These are the transitions of
 * `deliveries.repository.ts` (`claimDelivery`, `markDeliverySent`, `markDeliveryFailed`) made for
 * a batch at once, with the same conditions, events and send statuses, so that a delivery costs
 * a share of a few statements instead of a dozen round trips of its own. Each delivery in a
 * batch succeeds or finds nothing to do on its own conditions; one delivery never spoils another.
 */

/** Names a delivery of an organization; `send_id` is not needed to load it. */
export type DeliveryKey = Pick<DeliveryRef, 'id' | 'organization_id'>;

/** The deliveries among `keys` that exist, by id, with their send, sender and group. */
export async function loadDeliveriesForSending(
  db: Executor,
  keys: readonly DeliveryKey[],
): Promise<Map<string, DeliveryForSending>> {
  const loaded = new Map<string, DeliveryForSending>();
  if (keys.length === 0) return loaded;
  const rows = await db
    .selectFrom('deliveries as d')
    .innerJoin('sends as s', 's.id', 'd.send_id')
    .innerJoin('senders as r', 'r.id', 'd.sender_id')
    .leftJoin('groups as g', 'g.id', 'd.group_id')
    .selectAll('d')
    .select([
      's.channel as send_channel',
      's.status as send_status',
      's.content as send_content',
      's.request_id as send_request_id',
      'r.channel as sender_channel',
      'r.provider as sender_provider',
      'r.name as sender_name',
      'r.role as sender_role',
      'r.status as sender_status',
      'r.settings as sender_settings',
      'r.rate_limit_max as sender_rate_limit_max',
      'r.rate_limit_window_ms as sender_rate_limit_window_ms',
      'r.updated_at as sender_updated_at',
      'g.name as group_name',
    ])
    .where(sql<boolean>`(d.id, d.organization_id) in (${pairs(keys)})`)
    .execute();
  for (const row of rows) {
    const {
      send_channel,
      send_status,
      send_content,
      send_request_id,
      sender_channel,
      sender_provider,
      sender_name,
      sender_role,
      sender_status,
      sender_settings,
      sender_rate_limit_max,
      sender_rate_limit_window_ms,
      sender_updated_at,
      group_name,
      ...delivery
    } = row;
    loaded.set(delivery.id, {
      delivery,
      send: {
        id: delivery.send_id,
        channel: send_channel,
        status: send_status,
        content: send_content,
        request_id: send_request_id,
      },
      sender: {
        id: delivery.sender_id,
        organization_id: delivery.organization_id,
        channel: sender_channel,
        provider: sender_provider,
        name: sender_name,
        role: sender_role,
        status: sender_status,
        settings: sender_settings,
        rate_limit_max: sender_rate_limit_max,
        rate_limit_window_ms: sender_rate_limit_window_ms,
        updated_at: sender_updated_at,
      },
      groupName: group_name,
    });
  }
  return loaded;
}

/**
 * `queued → sending` for each delivery that is still `queued`: counts its attempt, stamps
 * `claimed_at`, records `delivery.sending`, and moves its send from `queued` to `sending`
 * (recording `send.sending`), in one statement. Resolves with the attempt number of each
 * delivery claimed, by id; a delivery that was not `queued` is absent.
 */
export async function claimDeliveries(
  db: Executor,
  refs: readonly DeliveryRef[],
): Promise<Map<string, number>> {
  const unique = uniqueBy(refs, (ref) => ref.id);
  if (unique.length === 0) return new Map();
  // Event ids are made here (UUIDv7, like every other event id) for every delivery and send
  // that may move; those that do not move leave theirs unused.
  const deliveries = sql.join(
    unique.map((ref) => sql`(${ref.id}::uuid, ${ref.organization_id}::uuid, ${newId()}::uuid)`),
  );
  const sends = sql.join(
    [...new Set(unique.map((ref) => ref.send_id))].map(
      (sendId) => sql`(${sendId}::uuid, ${newId()}::uuid)`,
    ),
  );
  const result = await sql<{ id: string; attempts: number }>`
    with asked (id, organization_id, event_id) as (values ${deliveries}),
    send_events (send_id, event_id) as (values ${sends}),
    claimed as (
      update deliveries as d set
        status = 'sending', attempts = d.attempts + 1, claimed_at = now(), updated_at = now()
      from asked
      where d.id = asked.id and d.organization_id = asked.organization_id
        and d.status = 'queued'
      returning d.id, d.organization_id, d.send_id, d.attempts, asked.event_id
    ),
    claim_events as (
      insert into events (id, organization_id, type, send_id, delivery_id, payload)
      select event_id, organization_id, 'delivery.sending', send_id, id,
        jsonb_build_object('attempt', attempts)
      from claimed
    ),
    started as (
      -- Locked in id order, as lockSends does, so statements touching the same sends never
      -- wait on each other in a cycle.
      update sends as s set status = 'sending', updated_at = now()
      where s.id in (
        select id from sends
        where id in (select send_id from claimed) and status = 'queued'
        order by id
        for update
      )
      and s.status = 'queued'
      returning s.id, s.organization_id
    ),
    start_events as (
      insert into events (id, organization_id, type, send_id, payload)
      select send_events.event_id, started.organization_id, 'send.sending', started.id,
        '{"status": "sending"}'::jsonb
      from started join send_events on send_events.send_id = started.id
    )
    select id, attempts from claimed`.execute(db);
  return new Map(result.rows.map((row) => [row.id, row.attempts]));
}

/** How one attempt ended: sent with the provider's message id, or failed for good. */
export type AttemptOutcome =
  | { attempt: AttemptRef; status: 'sent'; providerMessageId: string }
  | { attempt: AttemptRef; status: 'failed'; error: DeliveryError };

/**
 * `sending → sent` or `sending → failed` for each outcome whose attempt is still the delivery's
 * current one (a later claim makes an older attempt's outcome a no-op), with its event, and the
 * statuses of the sends concerned recomputed, in one transaction. `sent` clears the errors of
 * earlier attempts; `failed` keeps why. Resolves with the ids of the deliveries moved.
 */
export async function recordOutcomes(
  db: Db,
  outcomes: readonly AttemptOutcome[],
): Promise<Set<string>> {
  const moved = new Set<string>();
  const unique = uniqueBy(outcomes, (outcome) => outcome.attempt.id);
  if (unique.length === 0) return moved;
  await db.transaction().execute(async (tx) => {
    // The sends first, in id order: concurrent batches then recompute one send's status one
    // after another, each seeing the others' committed rows.
    await lockSends(
      tx,
      unique.map((outcome) => outcome.attempt.send_id),
    );
    const values = sql.join(
      unique.map((outcome) => {
        const { attempt } = outcome;
        const sent = outcome.status === 'sent';
        const payload = sent
          ? { attempt: attempt.attempt, provider_message_id: outcome.providerMessageId }
          : { attempt: attempt.attempt, error_code: outcome.error.code };
        return sql`(${attempt.id}::uuid, ${attempt.organization_id}::uuid, ${attempt.attempt}::int,
          ${outcome.status}::text, ${sent ? outcome.providerMessageId : null}::text,
          ${sent ? null : outcome.error.code}::text, ${sent ? null : outcome.error.message}::text,
          ${newId()}::uuid, ${JSON.stringify(payload)}::jsonb)`;
      }),
    );
    const result = await sql<{ id: string }>`
      with outcome (id, organization_id, attempt, status, provider_message_id, error_code,
        error_message, event_id, event_payload) as (values ${values}),
      moved as (
        update deliveries as d set
          status = outcome.status,
          provider_message_id = coalesce(outcome.provider_message_id, d.provider_message_id),
          sent_at = case when outcome.status = 'sent' then now() else d.sent_at end,
          failed_at = case when outcome.status = 'failed' then now() else d.failed_at end,
          error_code = outcome.error_code,
          error_message = outcome.error_message,
          updated_at = now()
        from outcome
        where d.id = outcome.id and d.organization_id = outcome.organization_id
          and d.status = 'sending' and d.attempts = outcome.attempt
        returning d.id, d.organization_id, d.send_id, outcome.status, outcome.event_id,
          outcome.event_payload
      ),
      moved_events as (
        insert into events (id, organization_id, type, send_id, delivery_id, payload)
        select event_id, organization_id, 'delivery.' || status, send_id, id, event_payload
        from moved
      )
      select id from moved`.execute(tx);
    for (const row of result.rows) moved.add(row.id);
    const done = unique.filter((outcome) => moved.has(outcome.attempt.id));
    if (done.length === 0) return;
    await refreshSendStatuses(
      tx,
      done.map((outcome) => outcome.attempt),
    );
  });
  return moved;
}

function pairs(keys: readonly DeliveryKey[]): RawBuilder<unknown> {
  return sql.join(keys.map((key) => sql`(${key.id}::uuid, ${key.organization_id}::uuid)`));
}

/** The first item of each delivery: a delivery appears once in a statement however often asked. */
function uniqueBy<T>(items: readonly T[], idOf: (item: T) => string): T[] {
  const seen = new Set<string>();
  return items.filter((item) => {
    const id = idOf(item);
    if (seen.has(id)) return false;
    seen.add(id);
    return true;
  });
}
