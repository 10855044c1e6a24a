export * from './documents';
export { newId } from './ids';
export type { IdPrefix } from './ids';
export { TenantConfigRepository, tenantConfigIndexes, isDuplicateKeyError } from './tenant-config.repository';
export { MessageRepository, messageIndexes, recipientId } from './message.repository';
export type { RecipientResult } from './message.repository';
export { EventRepository, eventIndexes } from './event.repository';
export { AuditRepository, auditIndexes } from './audit.repository';
export type { AuditDocument, AuditEntry, AuditFilter } from './audit.repository';
