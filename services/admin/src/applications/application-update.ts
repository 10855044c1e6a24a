import { mergePatchUpdate } from '../settings/merge-patch-update';
import type { MergePatchUpdate } from '../settings/merge-patch-update';
import type { UpdateApplicationInput } from './applications.schemas';

/** The MongoDB update for an application patch; `limits` and `scanPolicy` merge key by key. */
export function applicationUpdate(patch: UpdateApplicationInput): MergePatchUpdate | undefined {
  return mergePatchUpdate(patch, ['limits', 'scanPolicy']);
}
