import type { Database, Db } from '@outbound/db';

/** Per table: its row count and the newest row version's transaction id. */
export type TableFingerprint = Readonly<Record<string, string>>;

/**
 * Reads, in one query, a fingerprint of every table of the database: `count:max(xmin)`. Any
 * insert or update makes a row version with a newer `xmin`, and any delete changes the count,
 * so two equal fingerprints mean nothing was written in between (by anyone: run it where no
 * background writer shares the database).
 */
export async function tableFingerprint(db: Db): Promise<TableFingerprint> {
  const tables = (await db.introspection.getTables())
    .filter(
      (table) => table.schema === 'public' && !table.isView && !table.name.startsWith('kysely_'),
    )
    .map((table) => table.name as keyof Database)
    .sort();
  const [first, ...rest] = tables.map((table) =>
    db
      .selectFrom(table)
      .select((eb) => [
        eb.val(table).as('table_name'),
        eb.fn.countAll<string>().as('rows'),
        eb.fn.max(eb.cast(eb.cast(eb.ref('xmin' as never), 'text'), 'bigint')).as('newest'),
      ]),
  );
  if (first === undefined) return {};
  const query = rest.reduce((union, next) => union.unionAll(next), first);
  const rows = (await query.execute()) as {
    table_name: string;
    rows: string;
    newest: string | number | null;
  }[];
  return Object.fromEntries(
    rows.map((row) => [row.table_name, `${row.rows}:${String(row.newest ?? 0)}`]),
  );
}

/** The tables whose fingerprint differs, as `table: before → after`. */
export function changedTables(before: TableFingerprint, after: TableFingerprint): string[] {
  return Object.keys({ ...before, ...after })
    .filter((table) => before[table] !== after[table])
    .map((table) => `${table}: ${before[table] ?? '-'} → ${after[table] ?? '-'}`);
}
