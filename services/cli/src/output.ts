/** Where a command writes; process.stdout in production, an in-memory sink in tests. */
export interface OutputStream {
  write(chunk: string): unknown;
}

export type Cell = string | number | boolean | Date | null | undefined;

/** What a command prints: one JSON document with `--json`, readable lines otherwise. */
export class Output {
  readonly #stream: OutputStream;
  readonly asJson: boolean;

  constructor(stream: OutputStream, asJson: boolean) {
    this.#stream = stream;
    this.asJson = asJson;
  }

  /** Compact, on one line, so stdout holds exactly one parseable document. */
  json(value: unknown): void {
    this.#stream.write(`${JSON.stringify(value)}\n`);
  }

  line(text = ''): void {
    this.#stream.write(`${text}\n`);
  }

  /** Aligned columns under a header; `empty` is printed instead when there are no rows. */
  table<Row>(rows: readonly Row[], columns: Record<string, (row: Row) => Cell>, empty: string) {
    if (rows.length === 0) {
      this.line(empty);
      return;
    }
    const headers = Object.keys(columns);
    const cells = rows.map((row) => Object.values(columns).map((cell) => formatCell(cell(row))));
    const widths = headers.map((header, index) =>
      Math.max(header.length, ...cells.map((row) => row[index]?.length ?? 0)),
    );
    const render = (values: readonly string[]) =>
      values
        .map((value, index) => value.padEnd(widths[index] ?? 0))
        .join('  ')
        .trimEnd();
    this.line(render(headers.map((header) => header.toUpperCase())));
    for (const row of cells) this.line(render(row));
  }
}

function formatCell(value: Cell): string {
  if (value === null || value === undefined || value === '') return '-';
  if (value instanceof Date) return value.toISOString();
  return String(value);
}
