import { z } from 'zod';

/** A JSON Schema (2020-12, the dialect of OpenAPI 3.1) or any other JSON object of the document. */
export type JsonObject = { [key: string]: unknown };

/**
 * The JSON Schema of what a client sends: the input side of the schema (`io: 'input'`), so a
 * coerced number is a number, a field with a default is optional and shows its default, and a
 * `.transform` (date strings to Dates, subject to hash) documents the string it accepts. Refinements
 * have no JSON Schema form and are left out (the route's 400 lists them in prose); anything else
 * unrepresentable becomes `{}` rather than failing the whole document.
 *
 * Response shapes use the input side too: they are plain, except for the reused scan policy, whose
 * de-duplicating transform only the input side can express.
 */
export function jsonSchemaOf(schema: z.ZodType): JsonObject {
  const converted = z.toJSONSchema(schema, {
    target: 'draft-2020-12',
    io: 'input',
    unrepresentable: 'any',
    override: ({ jsonSchema }) => {
      // zod adds a 500-character regex to every ISO date-time; `format` already says it.
      if (jsonSchema.format === 'date-time') {
        delete jsonSchema.pattern;
      }
    },
  });
  // The dialect is the document's (OpenAPI 3.1 is JSON Schema 2020-12), not each schema's.
  delete converted.$schema;
  return converted;
}
