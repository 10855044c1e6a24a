import { connect } from 'node:net';
import type { Readable } from 'node:stream';

/** SpamAssassin's verdict: its score, its threshold and the rules that matched. */
export interface SpamdVerdict {
  spam: boolean;
  score: number;
  threshold: number;
  rules: string[];
}

export class SpamdUnavailableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'SpamdUnavailableError';
  }
}

export interface SpamdOptions {
  host: string;
  port: number;
  timeoutMs: number;
}

/**
 * Parses a reply to `SYMBOLS` (spamd's protocol, SPAMC/SPAMD 1.x): a status line, headers with
 * `Spam: True|False ; <score> / <threshold>`, a blank line and the matched rules, comma-separated.
 * Anything else is an error, never a clean verdict (fail closed).
 */
export function parseSpamdReply(reply: string): SpamdVerdict {
  const [head = '', body = ''] = reply.split(/\r\n\r\n/, 2);
  const [status = '', ...headers] = head.split('\r\n');
  const code = /^SPAMD\/\d+\.\d+ (\d+) (\S+)/.exec(status);
  if (code?.[1] !== '0') {
    throw new SpamdUnavailableError(`spamd refused the check: ${status.slice(0, 200)}`);
  }
  const spamHeader = headers.find((h) => /^Spam:/i.test(h)) ?? '';
  const verdict = /^Spam:\s*(True|False|Yes|No)\s*;\s*(-?\d+(?:\.\d+)?)\s*\/\s*(-?\d+(?:\.\d+)?)\s*$/i.exec(
    spamHeader,
  );
  if (verdict === null) {
    throw new SpamdUnavailableError(`unexpected spamd reply: ${head.slice(0, 200)}`);
  }
  return {
    spam: /^(true|yes)$/i.test(verdict[1] ?? ''),
    score: Number(verdict[2]),
    threshold: Number(verdict[3]),
    rules: body
      .trim()
      .split(',')
      .map((r) => r.trim())
      .filter((r) => r !== ''),
  };
}

/**
 * A spamd client over TCP: one connection per check (spamd's protocol answers one request per
 * connection). The body is streamed, with its length announced up front as the protocol wants.
 */
export class SpamdClient {
  constructor(private readonly options: SpamdOptions) {}

  check(body: Readable, length: number): Promise<SpamdVerdict> {
    const { host, port, timeoutMs } = this.options;
    return new Promise((resolve, reject) => {
      const chunks: Buffer[] = [];
      const fail = (error: unknown): void => {
        socket.destroy();
        body.destroy();
        reject(
          error instanceof SpamdUnavailableError
            ? error
            : new SpamdUnavailableError(`spamd check failed: ${describe(error)}`, { cause: error }),
        );
      };
      const socket = connect({ host, port }, () => {
        socket.write(`SYMBOLS SPAMC/1.5\r\nContent-length: ${length}\r\n\r\n`);
        body.pipe(socket, { end: false });
        body.once('end', () => socket.end());
      });
      socket.setTimeout(timeoutMs, () =>
        fail(new SpamdUnavailableError(`spamd gave no answer in ${timeoutMs} ms`)),
      );
      socket.on('data', (chunk: Buffer) => chunks.push(chunk));
      socket.once('error', fail);
      body.once('error', fail);
      socket.once('end', () => {
        let verdict: SpamdVerdict;
        try {
          verdict = parseSpamdReply(Buffer.concat(chunks).toString('latin1'));
        } catch (error) {
          fail(error);
          return;
        }
        socket.destroy();
        resolve(verdict);
      });
    });
  }
}

/** `ECONNREFUSED` and the like when the error has a code (a socket error's message can be empty). */
function describe(error: unknown): string {
  const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown };
  if (typeof code === 'string') {
    return code;
  }
  return typeof message === 'string' && message !== '' ? message : 'unknown error';
}
