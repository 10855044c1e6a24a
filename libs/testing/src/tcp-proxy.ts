import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';

/** A TCP forwarder in front of a real server (Redis, FerretDB) that a test can take down and bring back. */
export interface TcpProxy {
  /** The port the proxy listens on, on 127.0.0.1; the same after stop() and start(). */
  port: number;
  /** Refuses new connections and destroys open ones, as if the server had died. */
  stop(): Promise<void>;
  /** Listens again on the same port. */
  start(): Promise<void>;
  /**
   * From now on, bytes from the server are thrown away while requests still reach it, as when a
   * reply is lost on the way back: a write is applied but its client never learns it. Ends at the
   * next stop() (which also destroys the connections that lost their replies).
   */
  dropReplies(): void;
  /** Stops for good; start() afterwards rejects. */
  close(): Promise<void>;
}

const HOST = '127.0.0.1';

/**
 * Starts a proxy on a free port of 127.0.0.1 that forwards each connection to `target` (host
 * defaults to 127.0.0.1). Point the service under test at `proxy.port`, then `stop()` to make its
 * dependency vanish mid-run and `start()` to bring it back.
 *
 * stop() closes the listening socket, so new connects get ECONNREFUSED rather than hanging, and
 * destroys both halves of every open connection: the client sees the connection end, the real
 * server sees its client go, as when the server process dies. start() binds the same port again;
 * another process could take it in between, in which case start() rejects (EADDRINUSE).
 */
export async function startTcpProxy(target: { host?: string; port: number }): Promise<TcpProxy> {
  const sockets = new Set<Socket>();
  const mode = { dropReplies: false };
  const server = createServer((client) => {
    forward(client, target, sockets, mode);
  });
  await listen(server, 0);
  const { port } = server.address() as AddressInfo;
  let closed = false;

  const stop = async (): Promise<void> => {
    if (!server.listening) {
      return;
    }
    // close() only stops accepting; its callback waits for open connections, hence the destroy.
    const stopped = new Promise<void>((resolve, reject) => {
      server.close((error) => (error ? reject(error) : resolve()));
    });
    for (const socket of sockets) {
      socket.destroy();
    }
    sockets.clear();
    mode.dropReplies = false;
    await stopped;
  };
  const start = async (): Promise<void> => {
    if (closed) {
      throw new Error('The TCP proxy is closed');
    }
    if (!server.listening) {
      await listen(server, port);
    }
  };
  const close = async (): Promise<void> => {
    closed = true;
    await stop();
  };
  const dropReplies = (): void => {
    mode.dropReplies = true;
  };
  return { port, stop, start, close, dropReplies };
}

function listen(server: Server, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (error: Error): void => reject(error);
    server.once('error', onError);
    server.listen(port, HOST, () => {
      server.off('error', onError);
      resolve();
    });
  });
}

/**
 * Pipes one accepted connection to a new connection to the target. Either side ending or failing
 * ends the other, so a target that is down closes the client instead of leaving it hanging.
 */
function forward(
  client: Socket,
  target: { host?: string; port: number },
  sockets: Set<Socket>,
  mode: { dropReplies: boolean },
): void {
  const upstream = connect({ host: target.host ?? HOST, port: target.port });
  for (const socket of [client, upstream]) {
    sockets.add(socket);
    // Resets are expected when either side is torn down; an unhandled 'error' would crash the test.
    socket.on('error', () => {
      client.destroy();
      upstream.destroy();
    });
    socket.on('close', () => {
      sockets.delete(socket);
      client.destroy();
      upstream.destroy();
    });
  }
  client.pipe(upstream);
  upstream.on('data', (chunk: Buffer) => {
    if (!mode.dropReplies && !client.destroyed) {
      client.write(chunk);
    }
  });
  upstream.on('end', () => client.end());
}
