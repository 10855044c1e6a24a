import type { OperationRegistry } from './operation-spec';
import { APPLICATION_OPERATIONS } from './operations/applications.operations';
import { MESSAGE_OPERATIONS } from './operations/messages.operations';
import { PLATFORM_OPERATIONS } from './operations/platform.operations';
import { TENANT_OPERATIONS } from './operations/tenants.operations';

const PARTS: readonly OperationRegistry[] = [
  PLATFORM_OPERATIONS,
  TENANT_OPERATIONS,
  APPLICATION_OPERATIONS,
  MESSAGE_OPERATIONS,
];

/**
 * Every operation of the admin API, keyed `METHOD /path`. The generator refuses a route without
 * an entry here and an entry without a route (services/admin/src/openapi/openapi-document.ts).
 */
export const OPERATIONS: OperationRegistry = mergeParts(PARTS);

function mergeParts(parts: readonly OperationRegistry[]): OperationRegistry {
  const merged: Record<string, OperationRegistry[string]> = {};
  for (const part of parts) {
    for (const [key, spec] of Object.entries(part)) {
      // Spreading would let a second entry silently replace the first.
      if (Object.hasOwn(merged, key)) {
        throw new Error(`OpenAPI registry: two entries for ${key}`);
      }
      merged[key] = spec;
    }
  }
  return merged;
}
