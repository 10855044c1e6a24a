import type { z } from 'zod';
import { problems } from './problem';

/** Validates a request body against its schema; every issue is reported with its path. */
export function parseBody<T>(schema: z.ZodType<T>, body: unknown): T {
  const parsed = schema.safeParse(body ?? {});
  if (!parsed.success) {
    throw problems.invalid(
      parsed.error.issues.map((i) => ({ path: i.path.join('.') || '(body)', message: i.message })),
    );
  }
  return parsed.data;
}
