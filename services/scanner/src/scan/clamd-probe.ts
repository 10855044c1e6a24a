import type { RelayConfig } from '@ser/config';
import type { Logger } from '@ser/logger';
import { CONFIG, LOGGER } from '@ser/runtime';
import { Inject, Injectable } from '@nestjs/common';
import type { OnApplicationBootstrap } from '@nestjs/common';
import clamd from 'clamdjs';

/**
 * Asks clamd for its version and signature database at start-up (`VERSION`, through clamdjs) and
 * logs it, so operators can tell which engine and signatures scanned the mail. An unreachable
 * clamd is logged, not fatal: scan jobs retry and hold messages until it answers.
 */
@Injectable()
export class ClamdProbe implements OnApplicationBootstrap {
  constructor(
    @Inject(CONFIG) private readonly config: RelayConfig,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    const { SER_CLAMD_HOST: host, SER_CLAMD_PORT: port } = this.config;
    try {
      const version = (await clamd.version(host, port, Math.min(this.config.SER_CLAMD_TIMEOUT_MS, 5000)))
        .replace(/\0/g, '')
        .trim();
      this.logger.info({ code: 'SCANNER_CLAMD_VERSION', clamd: `${host}:${port}`, version }, 'clamd answers');
    } catch (error) {
      this.logger.warn(
        { code: 'SCANNER_CLAMD_UNREACHABLE', clamd: `${host}:${port}`, err: error },
        'clamd does not answer; scans will retry and then hold messages',
      );
    }
  }
}
