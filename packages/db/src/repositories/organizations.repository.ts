import { newId } from '@outbound/domain';
import type { Organization } from '../database.ts';
import type { Executor } from './executor.ts';

export async function createOrganization(db: Executor, name: string): Promise<Organization> {
  return db
    .insertInto('organizations')
    .values({ id: newId(), name })
    .returningAll()
    .executeTakeFirstOrThrow();
}

export async function listOrganizations(db: Executor): Promise<Organization[]> {
  return db.selectFrom('organizations').selectAll().orderBy('id').execute();
}

export async function findOrganization(
  db: Executor,
  id: string,
): Promise<Organization | undefined> {
  return db.selectFrom('organizations').selectAll().where('id', '=', id).executeTakeFirst();
}
