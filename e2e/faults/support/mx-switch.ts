import { freePort } from '@ser/testing';
import { connect, createServer } from 'node:net';
import type { Server, Socket } from 'node:net';

/**
 * A TCP front for the SMTP sink, on the port egress delivers to. It forwards every connection,
 * until `goSilent()`: then the MX "times out": new connections are accepted and never greeted, and
 * open ones stop carrying anything in either direction. `answer()` brings it back (what was held is
 * dropped; the client has given up on it by then).
 */
export interface MxSwitch {
  readonly port: number;
  readonly silent: boolean;
  /** Connections accepted while silent, and how many of those the client closed (gave up). */
  readonly held: { total: number; abandoned: number };
  goSilent(): void;
  answer(): void;
  close(): Promise<void>;
}

interface Pair {
  client: Socket;
  upstream: Socket;
}

export async function startMxSwitch(sinkPort: number): Promise<MxSwitch> {
  const port = await freePort();
  const pairs = new Set<Pair>();
  const frozen = new Set<Socket>();
  const held = { total: 0, abandoned: 0 };
  let silent = false;

  const hold = (client: Socket): void => {
    held.total += 1;
    frozen.add(client);
    client.on('error', () => undefined);
    client.once('close', () => {
      if (frozen.delete(client)) {
        held.abandoned += 1;
      }
    });
  };
  const forward = (client: Socket): void => {
    const upstream = connect({ host: '127.0.0.1', port: sinkPort });
    const pair = { client, upstream };
    pairs.add(pair);
    for (const socket of [client, upstream]) {
      socket.on('error', () => {
        client.destroy();
        upstream.destroy();
      });
      socket.once('close', () => {
        pairs.delete(pair);
        client.destroy();
        upstream.destroy();
      });
    }
    client.pipe(upstream);
    upstream.pipe(client);
  };
  const server: Server = createServer((client) => (silent ? hold(client) : forward(client)));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });

  return {
    port,
    get silent() {
      return silent;
    },
    held,
    goSilent: () => {
      silent = true;
      // Open connections freeze: nothing more reaches the sink, no reply comes back.
      for (const { client, upstream } of pairs) {
        client.unpipe(upstream);
        upstream.unpipe(client);
        client.pause();
        upstream.pause();
        frozen.add(client);
        client.once('close', () => {
          if (frozen.delete(client)) {
            held.abandoned += 1;
          }
        });
      }
      pairs.clear();
    },
    answer: () => {
      silent = false;
      const stale = [...frozen];
      frozen.clear();
      for (const socket of stale) {
        socket.destroy();
      }
    },
    close: async () => {
      for (const { client, upstream } of pairs) {
        client.destroy();
        upstream.destroy();
      }
      for (const socket of frozen) {
        socket.destroy();
      }
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
