import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { freePort, startTcpProxy, waitFor, type TcpProxy } from '../src';

/** A tiny echo server that keeps its accepted sockets, so tests can see them end. */
async function startEchoServer(): Promise<{
  server: Server;
  port: number;
  open: Set<Socket>;
  received: () => string;
}> {
  const open = new Set<Socket>();
  let received = '';
  const server = createServer((socket) => {
    open.add(socket);
    socket.on('close', () => open.delete(socket));
    socket.on('error', () => undefined);
    socket.on('data', (chunk: Buffer) => (received += chunk.toString('utf8')));
    socket.pipe(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: (server.address() as AddressInfo).port, open, received: () => received };
}

interface Client {
  socket: Socket;
  received: () => string;
  closed: () => boolean;
}

function openClient(port: number): Promise<Client> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port });
    let data = '';
    let closed = false;
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => (data += chunk));
    socket.on('close', () => (closed = true));
    socket.once('error', reject);
    socket.once('connect', () => {
      socket.off('error', reject);
      socket.on('error', () => undefined);
      resolve({ socket, received: () => data, closed: () => closed });
    });
  });
}

async function roundTrip(port: number, text: string): Promise<string> {
  const client = await openClient(port);
  try {
    client.socket.write(text);
    return await waitFor(() => client.received() === text && client.received(), {
      description: () => `echo of ${JSON.stringify(text)}, got ${JSON.stringify(client.received())}`,
    });
  } finally {
    client.socket.destroy();
  }
}

describe('startTcpProxy', () => {
  let echo: Awaited<ReturnType<typeof startEchoServer>>;
  let proxy: TcpProxy;

  beforeEach(async () => {
    echo = await startEchoServer();
    proxy = await startTcpProxy({ port: echo.port });
  });

  afterEach(async () => {
    await proxy.close();
    await new Promise<void>((resolve) => echo.server.close(() => resolve()));
  });

  it('forwards data both ways on a port of its own', async () => {
    expect(proxy.port).not.toBe(echo.port);
    expect(await roundTrip(proxy.port, 'ping\r\n')).toBe('ping\r\n');
  });

  it('on stop() ends open connections at both ends and refuses new ones', async () => {
    const client = await openClient(proxy.port);
    client.socket.write('hello');
    await waitFor(() => client.received() === 'hello', { description: 'the echo through the proxy' });
    expect(echo.open.size).toBe(1);

    await proxy.stop();

    await waitFor(() => client.closed(), { description: 'the client connection to close' });
    await waitFor(() => echo.open.size === 0, { description: 'the server side to see its client go' });
    await expect(openClient(proxy.port)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
  });

  it('on start() listens again on the same port', async () => {
    const port = proxy.port;
    await proxy.stop();
    await proxy.stop(); // stopping twice is harmless
    await proxy.start();
    expect(proxy.port).toBe(port);
    expect(await roundTrip(port, 'back again')).toBe('back again');
    await proxy.start(); // starting a running proxy is harmless
    expect(await roundTrip(port, 'still here')).toBe('still here');
  });

  it('on dropReplies() still delivers requests but throws the replies away, until stop()', async () => {
    const client = await openClient(proxy.port);
    client.socket.write('before;');
    await waitFor(() => client.received() === 'before;', { description: 'the first echo' });

    proxy.dropReplies();
    client.socket.write('lost;');
    await waitFor(() => echo.received() === 'before;lost;', { description: 'the server to get the request' });
    // The echo left the server at once; give it time to arrive, had it been forwarded.
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(client.received()).toBe('before;');

    await proxy.stop();
    await waitFor(() => client.closed(), { description: 'the client connection to close' });
    await proxy.start();
    expect(await roundTrip(proxy.port, 'replies again')).toBe('replies again');
  });

  it('closes the client when the target is down, instead of leaving it hanging', async () => {
    const nowhere = await startTcpProxy({ port: await freePort() });
    try {
      const client = await openClient(nowhere.port);
      await waitFor(() => client.closed(), { description: 'the client connection to close' });
    } finally {
      await nowhere.close();
    }
  });

  it('after close() refuses connections and will not start again', async () => {
    await proxy.close();
    await expect(openClient(proxy.port)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    await expect(proxy.start()).rejects.toThrow('The TCP proxy is closed');
  });
});
