import { v7 as uuidv7, validate as isUuid } from 'uuid';

/** Time-ordered UUIDv7: ids sort by creation, which keeps btree inserts at the index's right edge. */
export function newId(): string {
  return uuidv7();
}

export { isUuid };
