import { SMTPServer } from 'smtp-server';
import type { SMTPServerOptions } from 'smtp-server';
import type { SMTPConnection } from 'smtp-server/lib/smtp-connection.js';
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { IngressMetrics, ListenerName } from '../metrics/ingress-metrics';
import { rewriteReply } from './reply-policy';
import type { SessionRegistry } from './session-registry';

/** A Set that lets the server adopt each connection as smtp-server adds it. */
class ConnectionSet extends Set<SMTPConnection> {
  constructor(private readonly onAdd: (connection: SMTPConnection) => void) {
    super();
  }

  override add(connection: SMTPConnection): this {
    if (!this.has(connection)) {
      super.add(connection);
      this.onAdd(connection);
    }
    return this;
  }
}

/**
 * smtp-server with the relay's reply policy on every connection, and each connection registered
 * by session id so that handlers, which only get the session, can close it, time it out or let it
 * drain on shutdown.
 */
export class RelaySmtpServer extends SMTPServer {
  constructor(
    options: SMTPServerOptions,
    private readonly registry: SessionRegistry,
    private readonly listener: ListenerName,
    private readonly metrics: IngressMetrics,
  ) {
    super(options);
    // smtp-server adds each connection to this set before its first reply: on a plain listener
    // the `421` of `maxClients` is sent inside `connect`, so wrapping afterwards would miss it.
    this.connections = new ConnectionSet((connection) => this.adopt(connection));
  }

  override connect(socket: Socket | TLSSocket, socketOptions?: Parameters<SMTPServer['connect']>[1]): void {
    this.metrics.sessionOpened(this.listener);
    super.connect(socket, socketOptions);
  }

  private adopt(connection: SMTPConnection): void {
    this.registry.register(connection);
    const send = connection.send.bind(connection);
    connection.send = (code, data, context) => {
      const reply = rewriteReply({ code, data, context }, connection.secure);
      send(reply.code, reply.data, reply.context);
      this.metrics.replySent(code, context);
      if (code >= 400 && code !== 421 && this.registry.get(connection.id)?.closeAfterReply === true) {
        connection.close();
      }
    };
  }
}
