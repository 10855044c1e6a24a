import type { RelayConfig } from '@ser/config';
import { CONFIG } from '@ser/runtime';
import { Inject, Injectable } from '@nestjs/common';
import clamd from 'clamdjs';
import type { Readable } from 'node:stream';

export type AvVerdict = { result: 'clean' } | { result: 'infected'; signature: string };

export class ClamdUnavailableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ClamdUnavailableError';
  }
}

/** Parses a clamd INSTREAM reply (`stream: OK`, `stream: <name> FOUND`); anything else is an error. */
export function parseClamdReply(reply: string): AvVerdict {
  const text = reply.replace(/\0/g, '').trim();
  if (/^stream: OK$/.test(text)) {
    return { result: 'clean' };
  }
  const found = /^stream: (.+) FOUND$/.exec(text);
  if (found?.[1] !== undefined) {
    return { result: 'infected', signature: found[1] };
  }
  throw new ClamdUnavailableError(`unexpected clamd reply: ${text.slice(0, 200)}`);
}

/** clamd over TCP with INSTREAM; clamd itself decodes MIME parts and archives. */
@Injectable()
export class ClamdClient {
  private readonly scanner: { scanStream(stream: Readable, timeout: number): Promise<string> };

  constructor(@Inject(CONFIG) private readonly config: RelayConfig) {
    this.scanner = clamd.createScanner(config.SER_CLAMD_HOST, config.SER_CLAMD_PORT);
  }

  async scan(body: Readable): Promise<AvVerdict> {
    let reply: string;
    try {
      reply = await this.scanner.scanStream(body, this.config.SER_CLAMD_TIMEOUT_MS);
    } catch (error) {
      throw new ClamdUnavailableError('clamd scan failed', { cause: error });
    }
    return parseClamdReply(reply);
  }
}
