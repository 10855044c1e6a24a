/** The API shape of a stored document: `_id` becomes `id`, everything else as stored. */
export const view = <T extends { _id: string }>({ _id, ...rest }: T): Omit<T, '_id'> & { id: string } => ({
  id: _id,
  ...rest,
});
