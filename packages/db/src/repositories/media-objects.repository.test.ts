import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newId } from '@outbound/domain';
import { createTestDatabase, type TestDatabase } from '@outbound/test/harness';
import { createMediaObject, findMediaObject } from './media-objects.repository.ts';
import { createOrganization } from './organizations.repository.ts';

describe('media objects repository', () => {
  let database: TestDatabase;

  beforeAll(async () => {
    database = await createTestDatabase();
  });
  afterAll(async () => {
    await database.drop();
  });

  function bytes(size: number) {
    const data = randomBytes(size);
    return { data, sha256: createHash('sha256').update(data).digest('hex'), sizeBytes: size };
  }

  it('stores an object and finds it again with its bytes', async () => {
    const organization = await createOrganization(database.db, 'media');
    const content = bytes(70_000);
    const created = await createMediaObject(database.db, {
      organizationId: organization.id,
      storageKey: `outbound/${organization.id}/20260511T025700.000Z-photo.png`,
      mimetype: 'image/png',
      filename: 'photo.png',
      sourceUrl: 'https://cdn.example.com/photo.png',
      ...content,
    });
    expect(created).toMatchObject({
      organization_id: organization.id,
      size_bytes: 70_000,
      sha256: content.sha256,
      filename: 'photo.png',
      source_url: 'https://cdn.example.com/photo.png',
    });
    expect(created.created_at).toBeInstanceOf(Date);

    const found = await findMediaObject(database.db, created.id);
    expect(found?.data.equals(content.data)).toBe(true);
    expect(found).toMatchObject({ id: created.id, mimetype: 'image/png', size_bytes: 70_000 });
    expect(await findMediaObject(database.db, newId())).toBeUndefined();
  });

  it('keeps storage keys unique', async () => {
    const organization = await createOrganization(database.db, 'media-keys');
    const options = {
      organizationId: organization.id,
      storageKey: `outbound/${organization.id}/20260511T025700.000Z-same.jpg`,
      mimetype: 'image/jpeg',
      filename: null,
      sourceUrl: null,
      ...bytes(10),
    };
    await createMediaObject(database.db, options);
    await expect(createMediaObject(database.db, options)).rejects.toThrow(/storage_key/);
  });
});
