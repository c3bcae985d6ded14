import { randomBytes } from 'node:crypto';
import { sql } from 'kysely';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { CredentialsCipher, newId } from '@outbound/domain';
import { createTestDatabase, type TestDatabase } from '@outbound/test/harness';
import { recordEvents } from './events.repository.ts';
import { createOrganization } from './organizations.repository.ts';
import { createWebhookEndpoint, disableWebhookEndpoint } from './webhook-endpoints.repository.ts';
import { relayEvents } from './webhook-relay.repository.ts';

describe('webhook relay', () => {
  let database: TestDatabase;
  const cipher = new CredentialsCipher(randomBytes(32).toString('base64'));

  beforeAll(async () => {
    database = await createTestDatabase();
  });
  afterAll(async () => {
    await database.drop();
  });
  beforeEach(async () => {
    // Each test starts with nothing left to relay.
    await relayEvents(database.db, { limit: 10_000 });
  });

  async function endpoint(organizationId: string, eventTypes: string[]) {
    const created = await createWebhookEndpoint(database.db, cipher, {
      organizationId,
      url: 'https://hooks.example.com/in',
      eventTypes,
      secret: 'whsec_test',
      maxPerOrganization: 20,
    });
    return created!.id;
  }

  async function unrelayed(ids: readonly string[]): Promise<string[]> {
    const rows = await database.db
      .selectFrom('events')
      .select('id')
      .where('id', 'in', ids)
      .where('relayed_at', 'is', null)
      .execute();
    return rows.map((row) => row.id);
  }

  it('fans each event out to the matching enabled endpoints of its organization only', async () => {
    const acme = await createOrganization(database.db, 'acme');
    const other = await createOrganization(database.db, 'other');
    const all = await endpoint(acme.id, ['*']);
    const sent = await endpoint(acme.id, ['send.sent']);
    const disabled = await endpoint(acme.id, ['*']);
    await disableWebhookEndpoint(database.db, acme.id, disabled);
    await endpoint(other.id, ['*']);

    const sendId = newId();
    const [accepted, done] = await recordEvents(database.db, [
      { organizationId: acme.id, type: 'send.accepted', sendId },
      { organizationId: acme.id, type: 'send.sent', sendId },
    ]);
    const result = await relayEvents(database.db, { limit: 100 });

    expect(result.events).toBe(2);
    // In event order, then endpoint order (ids are time-ordered: `all` was made first).
    expect(result.deliveries.map((d) => [d.event_id, d.endpoint_id])).toEqual([
      [accepted, all],
      [done, all],
      [done, sent],
    ]);
    expect(result.deliveries.every((d) => d.send_id === sendId)).toBe(true);
    expect(result.deliveries.every((d) => d.organization_id === acme.id)).toBe(true);
    expect(await unrelayed([accepted!, done!])).toEqual([]);
    // A second run finds nothing to do.
    expect(await relayEvents(database.db, { limit: 100 })).toEqual({ events: 0, deliveries: [] });
  });

  it('marks the events of an organization without endpoints relayed, and makes nothing', async () => {
    const lonely = await createOrganization(database.db, 'lonely');
    const ids = await recordEvents(database.db, [
      { organizationId: lonely.id, type: 'send.accepted' },
      { organizationId: lonely.id, type: 'draft.ready_for_review' },
    ]);
    const result = await relayEvents(database.db, { limit: 100 });
    expect(result).toEqual({ events: 2, deliveries: [] });
    expect(await unrelayed(ids)).toEqual([]);
  });

  it('takes events oldest first, a batch at a time', async () => {
    const org = await createOrganization(database.db, 'batches');
    await endpoint(org.id, ['*']);
    const ids = await recordEvents(
      database.db,
      Array.from({ length: 5 }, () => ({ organizationId: org.id, type: 'send.accepted' })),
    );
    const first = await relayEvents(database.db, { limit: 3 });
    expect(first.deliveries.map((d) => d.event_id)).toEqual(ids.slice(0, 3));
    const second = await relayEvents(database.db, { limit: 3 });
    expect(second.deliveries.map((d) => d.event_id)).toEqual(ids.slice(3));
  });

  it('still relays an event that commits after newer ones were relayed', async () => {
    const org = await createOrganization(database.db, 'late');
    await endpoint(org.id, ['*']);
    // The late event's id is older (made first), as in a transaction that commits last.
    const lateId = newId();
    await recordEvents(database.db, [{ organizationId: org.id, type: 'send.accepted' }]);
    expect((await relayEvents(database.db, { limit: 100 })).events).toBe(1);
    await database.db
      .insertInto('events')
      .values({ id: lateId, organization_id: org.id, type: 'send.sent', payload: '{}' })
      .execute();
    const result = await relayEvents(database.db, { limit: 100 });
    expect(result.deliveries.map((d) => d.event_id)).toEqual([lateId]);
  });

  it('does nothing while another relay is at work, so batches are made one at a time', async () => {
    const org = await createOrganization(database.db, 'one-at-a-time');
    await endpoint(org.id, ['*']);
    const ids = await recordEvents(database.db, [{ organizationId: org.id, type: 'send.sent' }]);
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let started!: () => void;
    const isStarted = new Promise<void>((resolve) => (started = resolve));
    // Another relay's transaction, holding the relay lock; its own claim is beside the point.
    const holder = database.db.transaction().execute(async (tx) => {
      await sql`select pg_advisory_xact_lock(${0x0b_3b_4e_1a})`.execute(tx);
      started();
      await held;
    });
    await isStarted;
    const during = await relayEvents(database.db, { limit: 100 });
    release();
    await holder;
    expect(during).toEqual({ events: 0, deliveries: [] });
    expect(
      (await relayEvents(database.db, { limit: 100 })).deliveries.map((d) => d.event_id),
    ).toEqual(ids);
  });

  it('skips events locked elsewhere rather than waiting for them', async () => {
    const org = await createOrganization(database.db, 'concurrent');
    await endpoint(org.id, ['*']);
    const ids = await recordEvents(
      database.db,
      Array.from({ length: 4 }, () => ({ organizationId: org.id, type: 'send.accepted' })),
    );
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let locked!: () => void;
    const isLocked = new Promise<void>((resolve) => (locked = resolve));
    // Another transaction, holding the two oldest events.
    const holder = database.db.transaction().execute(async (tx) => {
      await sql`select id from events where id in (${sql.join(ids.slice(0, 2))}) for update`.execute(
        tx,
      );
      locked();
      await held;
    });
    await isLocked;
    const result = await relayEvents(database.db, { limit: 100 });
    release();
    await holder;
    expect(result.deliveries.map((d) => d.event_id)).toEqual(ids.slice(2));
    expect(
      (await relayEvents(database.db, { limit: 100 })).deliveries.map((d) => d.event_id),
    ).toEqual(ids.slice(0, 2));
  });
});
