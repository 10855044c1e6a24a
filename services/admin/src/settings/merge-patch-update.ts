export interface MergePatchUpdate {
  $set?: Record<string, unknown>;
  $unset?: Record<string, ''>;
}

/**
 * The MongoDB update for a validated JSON merge patch (RFC 7396): values are set, `null` unsets,
 * and the objects named in `merged` (`limits`, `scanPolicy`) are merged by dotted paths so that
 * patching one of their fields keeps the others. `undefined` when the patch changes nothing (an
 * empty nested object), because MongoDB refuses an empty `$set`.
 */
export function mergePatchUpdate(
  patch: Record<string, unknown>,
  merged: readonly string[],
): MergePatchUpdate | undefined {
  const set: Record<string, unknown> = {};
  const unset: Record<string, ''> = {};
  const apply = (path: string, value: unknown): void => {
    if (value === null) {
      unset[path] = '';
    } else if (value !== undefined) {
      set[path] = value;
    }
  };
  for (const [field, value] of Object.entries(patch)) {
    if (merged.includes(field) && typeof value === 'object' && value !== null) {
      for (const [name, inner] of Object.entries(value)) {
        apply(`${field}.${name}`, inner);
      }
    } else {
      apply(field, value);
    }
  }
  const update: MergePatchUpdate = {
    ...(Object.keys(set).length > 0 ? { $set: set } : {}),
    ...(Object.keys(unset).length > 0 ? { $unset: unset } : {}),
  };
  return update.$set === undefined && update.$unset === undefined ? undefined : update;
}
