/** One page of a list and the cursor of the next (`null` on the last page). */
export interface Page<T> {
  page: T[];
  nextCursor: string | null;
}

/**
 * Cuts a lookup of `limit + 1` documents to a page: the extra one only says that a next page
 * exists, whose cursor is the key of this page's last item.
 */
export function pageOf<T>(found: T[], limit: number, keyOf: (item: T) => string): Page<T> {
  const page = found.slice(0, limit);
  const last = page.at(-1);
  return { page, nextCursor: found.length > limit && last !== undefined ? keyOf(last) : null };
}
