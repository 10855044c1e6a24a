import { createServer, type AddressInfo } from 'node:net';

/**
 * Asks the OS for a free TCP port on `host`. The port is released before it is
 * returned, so another process could grab it; prefer port 0 where the server
 * under test supports it and read the bound port back.
 */
export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, host, () => {
      const { port } = server.address() as AddressInfo;
      server.close((error) => (error ? reject(error) : resolve(port)));
    });
  });
}
