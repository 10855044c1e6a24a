import type { Logger } from '@ser/logger';
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import type { ReadinessReport } from './process-readiness';

export interface OpsServerOptions {
  host: string;
  /** 0 picks a free port (tests); `OpsServer.port` tells which. */
  port: number;
  /** Services started and dependencies answering; asked on every `/readyz`. */
  readiness: () => Promise<ReadinessReport>;
  registry: Registry;
  logger: Logger;
}

export interface OpsServer {
  /** The bound port. */
  readonly port: number;
  /** Stops listening and drops open connections (a scraper keeps its connection alive). */
  close(): Promise<void>;
}

/**
 * The process's ops endpoint, apart from any service's own port: `GET /healthz` (the event loop
 * answers), `GET /readyz` (200 or 503 with what is missing), `GET /metrics` (Prometheus text).
 * Plain node:http, so that it answers even while the services' Nest contexts start or stop.
 */
export async function startOpsServer(options: OpsServerOptions): Promise<OpsServer> {
  const server = createServer((request, response) => {
    route(request, options).then(
      ({ status, type, body }) => reply(response, status, type, body),
      (error: unknown) => {
        options.logger.error(
          { code: 'RUNTIME_OPS_REQUEST_FAILED', url: request.url, err: error },
          'ops request failed',
        );
        reply(response, 500, JSON_TYPE, JSON.stringify({ status: 'error' }));
      },
    );
  });
  await listen(server, options.port, options.host);
  const port = (server.address() as AddressInfo).port;
  let closed: Promise<void> | undefined;
  return {
    port,
    close: () => {
      closed ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closed;
    },
  };
}

const JSON_TYPE = 'application/json; charset=utf-8';

interface OpsReply {
  status: number;
  type: string;
  body: string;
}

async function route(request: IncomingMessage, options: OpsServerOptions): Promise<OpsReply> {
  const path = (request.url ?? '').split('?', 1)[0];
  if (request.method !== 'GET') {
    return notFound();
  }
  switch (path) {
    case '/healthz':
      return { status: 200, type: JSON_TYPE, body: JSON.stringify({ status: 'ok' }) };
    case '/readyz': {
      const report = await options.readiness();
      return { status: report.ready ? 200 : 503, type: JSON_TYPE, body: JSON.stringify(report.body) };
    }
    case '/metrics':
      return { status: 200, type: options.registry.contentType, body: await options.registry.metrics() };
    default:
      return notFound();
  }
}

function notFound(): OpsReply {
  return { status: 404, type: JSON_TYPE, body: JSON.stringify({ status: 'not_found' }) };
}

function reply(response: ServerResponse, status: number, type: string, body: string): void {
  response.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
  response.end(body);
}

function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}
