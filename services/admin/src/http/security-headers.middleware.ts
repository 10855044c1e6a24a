import type { NextFunction, Request, Response } from 'express';

/**
 * Headers for an API that serves JSON to scripts and is never framed or cached: a response that a
 * browser renders anyway can run nothing, and nothing with a tenant's data stays in a cache.
 * A route that serves HTML (the API docs) sets its own Content-Security-Policy over this one.
 */
export function securityHeaders(_request: Request, response: Response, next: NextFunction): void {
  response.removeHeader('X-Powered-By');
  response.setHeader('Content-Security-Policy', "default-src 'none'; frame-ancestors 'none'");
  response.setHeader('X-Content-Type-Options', 'nosniff');
  response.setHeader('X-Frame-Options', 'DENY');
  response.setHeader('Referrer-Policy', 'no-referrer');
  response.setHeader('Cross-Origin-Resource-Policy', 'same-origin');
  response.setHeader('Cache-Control', 'no-store');
  next();
}
