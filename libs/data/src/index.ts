export * from './documents';
export { newId } from './ids';
export type { IdPrefix } from './ids';
export { TenantConfigRepository, tenantConfigIndexes, isDuplicateKeyError } from './tenant-config.repository';
export { MessageRepository, messageIndexes, recipientId } from './message.repository';
export type { RecipientResult } from './message.repository';
export { EventRepository, eventIndexes } from './event.repository';
export { AuditRepository, auditIndexes } from './audit.repository';
export type { AuditDocument, AuditEntry, AuditFilter } from './audit.repository';
export { SuppressionRepository, suppressionIndexes, suppressionId } from './suppression.repository';
export type { SuppressionEntry } from './suppression.repository';
export { smarthostPasswordAad } from './smarthost';
export type { SmarthostCredentialContext } from './smarthost';
export {
  StatsRepository,
  statsIndexes,
  STATS_SETTLE_GRACE_MS,
  isQueryTimeout,
  StatsReadTimeoutError,
  topKeys,
} from './stats.repository';
export type { StatsQuery, StatsSummary, SettleResult, RebuildResult } from './stats.repository';
export { bucketRanges, dayOf, hourOf, DAY_MS, HOUR_MS } from './stats-buckets';
export {
  RollupBuilder,
  ROLLUP_KEY_CAP,
  OTHER_KEY,
  rollupId,
  encodeField,
  decodeField,
  capCounts,
  periodTargets,
} from './stats-rollups';
export type { RollupCounts } from './stats-rollups';
export type { BucketRanges, TimeRange } from './stats-buckets';
export { ApiTokenRepository, apiTokenIndexes } from './api-token.repository';
export type { ApiTokenDocument, ApiTokenFilter, ApiTokenRole } from './api-token.repository';
