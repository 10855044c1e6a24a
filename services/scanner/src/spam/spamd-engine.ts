import type { RelayConfig } from '@ser/config';
import type { SpamEngineResult } from '@ser/data';
import { CONFIG } from '@ser/runtime';
import { Inject, Injectable } from '@nestjs/common';
import { Readable } from 'node:stream';
import { SpamdClient } from './spamd-client';

/**
 * SpamAssassin through spamd, the second anti-spam engine; on when `SER_SPAMD_HOST` is set. The
 * protocol answers one request per connection, so connections are not reused; their number is
 * bounded by the scanner's concurrency.
 */
@Injectable()
export class SpamdEngine {
  private readonly client: SpamdClient | undefined;

  constructor(@Inject(CONFIG) config: RelayConfig) {
    const host = config.SER_SPAMD_HOST;
    this.client =
      host === undefined
        ? undefined
        : new SpamdClient({ host, port: config.SER_SPAMD_PORT, timeoutMs: config.SER_SPAMD_TIMEOUT_MS });
  }

  get enabled(): boolean {
    return this.client !== undefined;
  }

  /** Throws SpamdUnavailableError when spamd gives no verdict. */
  async check(raw: Buffer): Promise<SpamEngineResult> {
    if (this.client === undefined) {
      throw new Error('spamd is not configured');
    }
    const verdict = await this.client.check(Readable.from([raw]), raw.length);
    return {
      engine: 'spamd',
      status: 'ok',
      score: verdict.score,
      rules: verdict.rules.map((name) => ({ name })),
    };
  }
}
