import { z } from 'zod';

/** The `pagination` object every cursor-paginated list answers with. */
const paginationSchema = z.object({
  limit: z.int(),
  cursor: z.string().nullable().meta({ description: 'The cursor this page was asked with.' }),
  next_cursor: z.string().nullable().meta({
    description: 'Pass as `cursor` for the next page; null on the last page.',
  }),
  has_more: z.boolean(),
});

export type Pagination = z.infer<typeof paginationSchema>;

/** A list route's answer: `{ data: item[], pagination }`, named `id` in the OpenAPI document. */
export function pageSchema<Item extends z.ZodType>(item: Item, id: string) {
  return z.object({ data: z.array(item), pagination: paginationSchema }).meta({ id });
}

/** The `pagination` of a page asked with `asked`, whose next page starts at `nextCursor`. */
export function paginationOf(
  asked: { limit: number; cursor?: string | undefined },
  nextCursor: string | undefined,
): Pagination {
  return {
    limit: asked.limit,
    cursor: asked.cursor ?? null,
    next_cursor: nextCursor ?? null,
    has_more: nextCursor !== undefined,
  };
}
