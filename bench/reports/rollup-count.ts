import type { StatsRollupDocument } from '@ser/data';
import { periodTargets } from '@ser/data';

/** A statistics query as `StatsRepository` takes it. */
export interface RollupQuery {
  tenantId: string;
  from: Date;
  to: Date;
}

/**
 * How many of the seeded roll-ups `StatsRepository` reads by `_id` for `q` (day roll-ups for the
 * whole UTC days, hour roll-ups for the partial ends, `periodTargets`): the ones that exist of the
 * ids it looks up. Counted in memory.
 */
export function rollupsRead(docs: readonly StatsRollupDocument[], q: RollupQuery): number {
  const ids = new Set(periodTargets(q.tenantId, q.from, q.to).map((t) => t._id));
  return docs.filter((doc) => ids.has(doc._id)).length;
}
