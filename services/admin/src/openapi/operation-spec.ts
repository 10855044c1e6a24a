import type { z } from 'zod';
import type { ComponentName } from './components';

/** Groups of operations in the document and the docs page. */
export type Tag =
  | 'health'
  | 'docs'
  | 'tenants'
  | 'domains'
  | 'dkim-keys'
  | 'suppressions'
  | 'applications'
  | 'credentials'
  | 'messages'
  | 'quarantine'
  | 'audit'
  | 'reports'
  | 'tokens';

/**
 * Answers a route gives besides those the generator adds itself: `400` (the route takes a body,
 * a query or a path id), `401` and `403` (every route behind the access guard).
 */
export type ErrorStatus = 404 | 409 | 410 | 422 | 503;

/** A body by media type: a component, `[component]` for an array of them, or plain text or bytes. */
export type BodySchema = ComponentName | readonly [ComponentName] | 'text' | 'binary';

export interface ResponseSpec {
  description: string;
  content?: Readonly<Record<string, BodySchema>>;
}

/** One route in the OpenAPI document; its registry key is `METHOD /path` with `{param}`s. */
export interface OperationSpec {
  /** Unique across the document; clients generate method names from it. */
  operationId: string;
  summary: string;
  description: string;
  tags: readonly Tag[];
  /** The zod schema the controller parses the body with (`parseBody`). */
  body?: z.ZodType;
  /** The body may be left out (the controller reads no body as `{}`). */
  bodyOptional?: boolean;
  /** The zod schema the controller parses the query with (`parseQuery`). */
  query?: z.ZodType;
  status: 200 | 201 | 204;
  response: ResponseSpec;
  /** Further answers that are not errors (readiness's 503). */
  otherResponses?: Readonly<Record<string, ResponseSpec>>;
  errors?: readonly ErrorStatus[];
}

/** Every route's operation, keyed `METHOD /path` (`GET /v1/tenants/{tenantId}`). */
export type OperationRegistry = Readonly<Record<string, OperationSpec>>;
