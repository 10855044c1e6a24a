import { loadConfig } from '@ser/config';
import type { RelayConfig } from '@ser/config';
import { EICAR, freePort, waitFor, zipArchive } from '@ser/testing';
import { connect, createServer } from 'node:net';
import type { AddressInfo, Server, Socket } from 'node:net';
import { Readable } from 'node:stream';
import { setTimeout as delay } from 'node:timers/promises';
import { ClamdClient, ClamdUnavailableError } from '../src/scan/clamd-client';
import type { AvVerdict } from '../src/scan/clamd-client';

// The project's own test signature (deploy/clamav/signatures/ser-test.ndb).
const SER_TEST = 'SER-TEST-MALWARE-SIGNATURE-7f3a9c';

function mail(body: string, headers = 'Content-Type: text/plain\r\n'): string {
  return (
    'From: shop@acme.test\r\nTo: customer@dest.test\r\nSubject: Your receipt\r\n' +
    `Message-ID: <r1@acme.test>\r\nMIME-Version: 1.0\r\n${headers}\r\n${body}\r\n`
  );
}

function withAttachment(name: string, type: string, content: Buffer): string {
  const base64 = content.toString('base64').replace(/.{76}/g, '$&\r\n');
  return mail(
    '--b1\r\nContent-Type: text/plain\r\n\r\nYour invoice is attached.\r\n' +
      `--b1\r\nContent-Type: ${type}; name="${name}"\r\nContent-Transfer-Encoding: base64\r\n` +
      `Content-Disposition: attachment; filename="${name}"\r\n\r\n${base64}\r\n--b1--`,
    'Content-Type: multipart/mixed; boundary="b1"\r\n',
  );
}

function signatureOf(verdict: AvVerdict): string | undefined {
  return verdict.result === 'infected' ? verdict.signature : undefined;
}

function body(text: string | Buffer): Readable {
  return Readable.from([Buffer.from(text)]);
}

/** The real clamd the bootstrap starts (SER_CLAMD_HOST/PORT), loading the project's test signatures. */
describe('ClamdClient', () => {
  const config = loadConfig();
  const cleanup: (() => Promise<void>)[] = [];

  afterEach(async () => {
    for (const step of cleanup.splice(0).reverse()) {
      await step();
    }
  });

  function client(overrides: Partial<RelayConfig> = {}): ClamdClient {
    const created = new ClamdClient({ ...config, SER_CLAMD_TIMEOUT_MS: 20_000, ...overrides });
    cleanup.push(() => created.onApplicationShutdown());
    return created;
  }

  async function proxy(): Promise<CountingProxy> {
    const started = await startCountingProxy(config.SER_CLAMD_PORT, config.SER_CLAMD_HOST);
    cleanup.push(() => started.close());
    return started;
  }

  async function fakeClamd(reply: FakeReply, options: FakeOptions = {}): Promise<FakeClamd> {
    const started = await startFakeClamd(reply, options);
    cleanup.push(() => started.close());
    return started;
  }

  describe('verdicts of the real clamd', () => {
    it('passes a clean message', async () => {
      await expect(client().scan(body(mail('Thank you for your order 1042.')))).resolves.toEqual({
        result: 'clean',
      });
    });

    it.each([
      ['as plain text', mail(`Here it is:\r\n${EICAR}`)],
      [
        'as a base64 MIME attachment',
        withAttachment('eicar.com', 'application/octet-stream', Buffer.from(EICAR)),
      ],
      [
        'inside a zip attachment',
        withAttachment(
          'invoice.zip',
          'application/zip',
          zipArchive([{ name: 'eicar.com', content: Buffer.from(EICAR) }]),
        ),
      ],
    ])('finds EICAR %s', async (_, message) => {
      const verdict = await client().scan(body(message));
      expect(signatureOf(verdict)).toMatch(/^Eicar-Test-Signature/);
    });

    it("finds the project's own test signature", async () => {
      const verdict = await client().scan(body(mail(`Totally harmless ${SER_TEST} text.`)));
      expect(signatureOf(verdict)).toMatch(/^SER\.Test\.Signature/);
    });

    it('streams a 5 MiB body to the end', async () => {
      const line = Buffer.from(
        `${'Lorem ipsum dolor sit amet, consectetur adipiscing elit. '.repeat(2)}\r\n`,
      );
      const lines = Math.ceil((5 * 1024 * 1024) / line.length);
      // Pulled lazily by the client, a piece at a time, like a GridFS download stream.
      function* large(): Generator<Buffer> {
        yield Buffer.from(mail('').trimEnd());
        for (let i = 0; i < lines; i += 8000) {
          // About 1 MiB a piece: split into 64 KiB chunks, and more than the socket buffer takes.
          yield Buffer.concat(Array.from({ length: 8000 }, () => line));
        }
        yield Buffer.from(`${SER_TEST}\r\n`);
      }
      const verdict = await client().scan(Readable.from(large()));
      expect(signatureOf(verdict)).toMatch(/^SER\.Test\.Signature/);
    });
  });

  describe('connections', () => {
    it('runs 20 scans, 4 at a time, on at most 4 reused connections', async () => {
      const counting = await proxy();
      const scanner = client({ SER_CLAMD_PORT: counting.port, SER_CLAMD_MAX_CONNECTIONS: 4 });
      const verdicts = await Promise.all(
        Array.from({ length: 20 }, (_, i) => scanner.scan(body(mail(i % 5 === 0 ? EICAR : `Order ${i}`)))),
      );
      expect(verdicts.filter((v) => v.result === 'infected')).toHaveLength(4);
      expect(counting.accepted).toBeLessThanOrEqual(4);
      expect(counting.maxOpen).toBeLessThanOrEqual(4);
      await scanner.scan(body(mail('One more.')));
      expect(counting.accepted).toBeLessThanOrEqual(4);
    });

    it('carries on when clamd closed an idle pooled connection', async () => {
      const counting = await proxy();
      const scanner = client({ SER_CLAMD_PORT: counting.port });
      await scanner.scan(body(mail('first')));
      counting.dropAll();
      await waitFor(() => counting.open === 0, { description: 'the idle connection closed' });
      // The proxy's side is closed; give the client's socket a moment to see its end too (a
      // session that dies while a scan is under way fails that scan, and the job layer retries).
      await delay(100);
      await expect(scanner.scan(body(mail(EICAR)))).resolves.toMatchObject({ result: 'infected' });
      expect(counting.accepted).toBe(2);
    });

    it('moves to a fresh connection when the pooled one dies before the body is read', async () => {
      // The server drops its first connection on the second scan, as clamd does at IdleTimeout.
      const fake = await fakeClamd((id) => `${id}: stream: OK\0`, { dropOnScan: { connection: 1, scan: 2 } });
      const scanner = client({ SER_CLAMD_PORT: fake.port });
      await scanner.scan(body('first'));
      // The body arrives a moment late, like one read from the message store.
      const slow = Readable.from(
        (async function* () {
          await delay(200);
          yield Buffer.from('second');
        })(),
      );
      await expect(scanner.scan(slow)).resolves.toEqual({ result: 'clean' });
      expect(fake.connections).toBe(2);
    });

    it('rejects with the body error and does not reuse that connection', async () => {
      const counting = await proxy();
      const scanner = client({ SER_CLAMD_PORT: counting.port });
      await scanner.scan(body(mail('first')));
      const broken = Readable.from(
        (async function* () {
          yield Buffer.from(mail('half'));
          await delay(20);
          throw new Error('message store read failed');
        })(),
      );
      await expect(scanner.scan(broken)).rejects.toThrow('message store read failed');
      await expect(scanner.scan(body(mail('after')))).resolves.toEqual({ result: 'clean' });
      expect(counting.accepted).toBe(2);
    });

    it('ends its sessions on shutdown, then refuses to scan', async () => {
      const counting = await proxy();
      const scanner = client({ SER_CLAMD_PORT: counting.port });
      await Promise.all([scanner.scan(body(mail('a'))), scanner.scan(body(mail('b')))]);
      expect(counting.open).toBe(2);
      await scanner.onApplicationShutdown();
      await waitFor(() => counting.open === 0, { description: 'sessions closed' });
      await expect(scanner.scan(body(mail('c')))).rejects.toBeInstanceOf(ClamdUnavailableError);
    });
  });

  describe('failures, all "clamd unavailable"', () => {
    it('fails fast when nothing listens', async () => {
      const started = Date.now();
      const scanner = client({ SER_CLAMD_PORT: await freePort(), SER_CLAMD_TIMEOUT_MS: 10_000 });
      await expect(scanner.scan(body(mail('hello')))).rejects.toBeInstanceOf(ClamdUnavailableError);
      expect(Date.now() - started).toBeLessThan(2000);
    });

    it.each([
      ['garbage', () => 'I am not clamd\0'],
      ['a reply to another request', (id: number) => `${id + 1}: stream: OK\0`],
      ['an ERROR reply', (id: number) => `${id}: INSTREAM size limit exceeded. ERROR\0`],
    ])('fails on %s, and never reuses that connection', async (_, reply) => {
      const fake = await fakeClamd(reply);
      const scanner = client({ SER_CLAMD_PORT: fake.port });
      await expect(scanner.scan(body('hello'))).rejects.toBeInstanceOf(ClamdUnavailableError);
      await expect(scanner.scan(body('hello'))).rejects.toBeInstanceOf(ClamdUnavailableError);
      expect(fake.connections).toBe(2);
    });

    it('gives up at the timeout when clamd never answers', async () => {
      const fake = await fakeClamd(() => undefined);
      const scanner = client({ SER_CLAMD_PORT: fake.port, SER_CLAMD_TIMEOUT_MS: 300 });
      const started = Date.now();
      await expect(scanner.scan(body('hello'))).rejects.toThrow(/no clamd verdict within 300 ms/);
      expect(Date.now() - started).toBeGreaterThanOrEqual(290);
      await waitFor(() => fake.open === 0, { description: 'the timed-out connection closed' });
    });

    it('gives up at the timeout while waiting for a free connection', async () => {
      const fake = await fakeClamd(() => undefined);
      const scanner = client({
        SER_CLAMD_PORT: fake.port,
        SER_CLAMD_TIMEOUT_MS: 300,
        SER_CLAMD_MAX_CONNECTIONS: 1,
      });
      const results = await Promise.allSettled([scanner.scan(body('a')), scanner.scan(body('b'))]);
      for (const result of results) {
        expect(result.status === 'rejected' && result.reason).toBeInstanceOf(ClamdUnavailableError);
      }
      expect(fake.connections).toBeLessThanOrEqual(2);
    });
  });
});

interface CountingProxy {
  port: number;
  /** Connections accepted so far. */
  readonly accepted: number;
  /** Connections open now, and the most open at once. */
  readonly open: number;
  readonly maxOpen: number;
  /** Closes every open connection, as clamd does with idle sessions, and keeps listening. */
  dropAll(): void;
  close(): Promise<void>;
}

/** A TCP forwarder that counts connections (startTcpProxy in @ser/testing does not). */
async function startCountingProxy(targetPort: number, targetHost: string): Promise<CountingProxy> {
  const sockets = new Set<Socket>();
  const stats = { accepted: 0, open: 0, maxOpen: 0 };
  const server = createServer((client) => {
    stats.accepted += 1;
    stats.open += 1;
    stats.maxOpen = Math.max(stats.maxOpen, stats.open);
    const upstream = connect({ host: targetHost, port: targetPort });
    const pair = [client, upstream];
    for (const socket of pair) {
      sockets.add(socket);
      socket.on('error', () => pair.forEach((s) => s.destroy()));
      socket.on('close', () => {
        sockets.delete(socket);
        pair.forEach((s) => s.destroy());
      });
    }
    client.once('close', () => (stats.open -= 1));
    client.pipe(upstream).pipe(client);
  });
  const port = await listen(server);
  const dropAll = (): void => sockets.forEach((s) => s.destroy());
  return {
    port,
    get accepted() {
      return stats.accepted;
    },
    get open() {
      return stats.open;
    },
    get maxOpen() {
      return stats.maxOpen;
    },
    dropAll,
    close: () => {
      dropAll();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

/** What the fake clamd answers to the scan numbered `id`; undefined means it never answers. */
type FakeReply = (id: number) => string | undefined;
interface FakeOptions {
  /** Close connection N (counted from 1) on its M-th zINSTREAM, before reading any of it. */
  dropOnScan?: { connection: number; scan: number };
}
interface FakeClamd {
  port: number;
  readonly connections: number;
  readonly open: number;
  close(): Promise<void>;
}

/** Speaks just enough of clamd's session protocol to answer each INSTREAM with `reply`. */
async function startFakeClamd(reply: FakeReply, options: FakeOptions): Promise<FakeClamd> {
  const sockets = new Set<Socket>();
  let connections = 0;
  const server = createServer((socket) => {
    const connection = ++connections;
    sockets.add(socket);
    socket.on('error', () => socket.destroy());
    socket.on('close', () => sockets.delete(socket));
    let received = Buffer.alloc(0);
    let scans = 0;
    let streaming = false;
    socket.on('data', (data: Buffer) => {
      received = Buffer.concat([received, data]);
      for (;;) {
        if (!streaming) {
          const end = received.indexOf(0);
          if (end === -1) {
            return;
          }
          const command = received.subarray(0, end).toString();
          received = received.subarray(end + 1);
          if (command === 'zINSTREAM') {
            scans += 1;
            const drop = options.dropOnScan;
            if (drop?.connection === connection && drop.scan === scans) {
              socket.destroy();
              return;
            }
            streaming = true;
          } else if (command === 'zEND') {
            socket.end();
            return;
          }
        } else {
          if (received.length < 4) {
            return;
          }
          const length = received.readUInt32BE(0);
          if (received.length < 4 + length) {
            return;
          }
          received = received.subarray(4 + length);
          if (length === 0) {
            streaming = false;
            const answer = reply(scans);
            if (answer !== undefined) {
              socket.write(answer);
            }
          }
        }
      }
    });
  });
  const port = await listen(server);
  return {
    port,
    get connections() {
      return connections;
    },
    get open() {
      return sockets.size;
    },
    close: () => {
      sockets.forEach((s) => s.destroy());
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

function listen(server: Server): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port));
  });
}
