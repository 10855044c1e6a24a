import type { z } from 'zod';
import { problems } from './problem';

/** Validates a request body against its schema; every issue is reported with its path. */
export function parseBody<T>(schema: z.ZodType<T>, body: unknown): T {
  return parseInput(schema, body ?? {}, '(body)');
}

/** Validates the query string the same way; a whole-query issue (unknown key) has path `(query)`. */
export function parseQuery<T>(schema: z.ZodType<T>, query: unknown): T {
  return parseInput(schema, query ?? {}, '(query)');
}

function parseInput<T>(schema: z.ZodType<T>, input: unknown, root: string): T {
  const parsed = schema.safeParse(input);
  if (!parsed.success) {
    throw problems.invalid(
      parsed.error.issues.map((i) => ({ path: i.path.join('.') || root, message: i.message })),
    );
  }
  return parsed.data;
}
