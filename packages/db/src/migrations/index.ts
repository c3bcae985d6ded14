import type { Migration } from 'kysely/migration';
import * as m0001 from './0001-initial-schema.ts';

/** Every migration, in order. Append only: never edit one that has been applied. */
export const migrations: Record<string, Migration> = {
  '0001-initial-schema': m0001,
};
