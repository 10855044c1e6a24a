import { SMTPServer } from 'smtp-server';
import type { SMTPServerOptions } from 'smtp-server';
import type { SMTPConnection } from 'smtp-server/lib/smtp-connection.js';
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { rewriteReply } from './reply-policy';
import type { SessionRegistry } from './session-registry';

/**
 * smtp-server with the relay's reply policy on every connection, and each connection registered
 * by session id so that handlers, which only get the session, can close it, time it out or let it
 * drain on shutdown.
 */
export class RelaySmtpServer extends SMTPServer {
  constructor(
    options: SMTPServerOptions,
    private readonly registry: SessionRegistry,
  ) {
    super(options);
  }

  override connect(socket: Socket | TLSSocket, socketOptions?: Parameters<SMTPServer['connect']>[1]): void {
    super.connect(socket, socketOptions);
    const connection = newest(this.connections);
    if (connection !== undefined) {
      this.registry.register(connection);
      const send = connection.send.bind(connection);
      connection.send = (code, data, context) => {
        const reply = rewriteReply({ code, data, context }, connection.secure);
        send(reply.code, reply.data, reply.context);
        if (code >= 400 && code !== 421 && this.registry.get(connection.id)?.closeAfterReply === true) {
          connection.close();
        }
      };
    }
  }
}

/** The connection `super.connect` just added: a Set iterates in insertion order. */
function newest(connections: Set<SMTPConnection>): SMTPConnection | undefined {
  let last: SMTPConnection | undefined;
  for (const connection of connections) {
    last = connection;
  }
  return last;
}
