import type { UpdateApplicationInput } from './applications.schemas';

export interface ApplicationUpdate {
  $set?: Record<string, unknown>;
  $unset?: Record<string, ''>;
}

/**
 * The MongoDB update for a validated merge patch: values are set, `null` unsets, and `limits` is
 * merged by dotted paths so that patching one limit keeps the others. `undefined` when the patch
 * changes nothing (an empty `limits` object), because MongoDB refuses an empty `$set`.
 */
export function applicationUpdate(patch: UpdateApplicationInput): ApplicationUpdate | undefined {
  const set: Record<string, unknown> = {};
  const unset: Record<string, ''> = {};
  const apply = (path: string, value: unknown): void => {
    if (value === null) {
      unset[path] = '';
    } else if (value !== undefined) {
      set[path] = value;
    }
  };
  const { limits, ...fields } = patch;
  for (const [field, value] of Object.entries(fields)) {
    apply(field, value);
  }
  if (limits === null) {
    unset['limits'] = '';
  } else if (limits !== undefined) {
    for (const [name, value] of Object.entries(limits)) {
      apply(`limits.${name}`, value);
    }
  }
  const update: ApplicationUpdate = {
    ...(Object.keys(set).length > 0 ? { $set: set } : {}),
    ...(Object.keys(unset).length > 0 ? { $unset: unset } : {}),
  };
  return update.$set === undefined && update.$unset === undefined ? undefined : update;
}
