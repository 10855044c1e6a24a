import type { RelayConfig } from '@ser/config';
import type { SpamEngineResult } from '@ser/data';
import type { Logger } from '@ser/logger';
import { CONFIG, LOGGER } from '@ser/runtime';
import { Inject, Injectable } from '@nestjs/common';
import type { OnModuleInit } from '@nestjs/common';
import { simpleParser } from 'mailparser';
import { readFile } from 'node:fs/promises';
import type SpamScanner from 'spamscanner';
import { z } from 'zod';
import { mismatchedLinks } from './link-mismatch';

export interface SpamscannerResult {
  result: SpamEngineResult;
  /** Phishing findings: IDN homograph links (spamscanner) and link texts naming another host (ours). */
  phishing: string[];
}

/** Points, on SpamAssassin's scale, of what spamscanner finds. GTUBE scores as in SpamAssassin. */
export const SPAMSCANNER_POINTS = { GTUBE: 1000, CLASSIFIER_SPAM: 5 } as const;

/**
 * spamscanner in-process: GTUBE, phishing and IDN homograph links, and its naive-Bayes classifier
 * when a trained model is configured (the npm package ships none). Its virus check is off (clamd
 * does that) and so are its look-ups of link host names at Cloudflare: a relay must not tell a
 * third party which links its tenants' mail carries, and there is no network here anyway.
 */
@Injectable()
export class SpamscannerEngine implements OnModuleInit {
  private scanner: SpamScanner | undefined;

  constructor(
    @Inject(CONFIG) private readonly config: RelayConfig,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  get enabled(): boolean {
    return this.config.SER_SPAMSCANNER_ENABLED;
  }

  /** Loads the library (a few seconds: it builds its language tables) before the first job. */
  async onModuleInit(): Promise<void> {
    if (!this.enabled) {
      return;
    }
    const { default: SpamScannerClass } = await import('spamscanner');
    const quiet = (...args: unknown[]): void => {
      this.logger.debug({ code: 'SCANNER_SPAMSCANNER_LOG', detail: String(args[0]) }, 'spamscanner');
    };
    const file = this.config.SER_SPAMSCANNER_CLASSIFIER_FILE;
    this.scanner = new SpamScannerClass({
      clamscan: false,
      checkIDNHomographAttack: true,
      debug: false,
      logger: { error: quiet, warn: quiet, info: quiet, debug: quiet, log: quiet },
      ...(file === undefined ? {} : await readSpamscannerModel(file)),
    });
    this.scanner.memoizedIsCloudflareBlocked = () => Promise.resolve({ isAdult: false, isMalware: false });
  }

  async check(raw: Buffer): Promise<SpamscannerResult> {
    const scanner = this.scanner;
    if (scanner === undefined) {
      throw new Error('spamscanner is not loaded');
    }
    const rules: NonNullable<SpamEngineResult['rules']> = [];
    let mail: Awaited<ReturnType<SpamScanner['getTokensAndMailFromSource']>>['mail'];
    if (this.config.SER_SPAMSCANNER_CLASSIFIER_FILE === undefined) {
      // Without a model the classifier cannot say anything: skip its (costly) tokenising.
      mail = await simpleParser(raw, { skipImageLinks: true, skipTextToHtml: true });
    } else {
      const parsed = await scanner.getTokensAndMailFromSource(raw);
      mail = parsed.mail;
      const classification = await scanner.getClassification(parsed.tokens);
      if (classification?.category === 'spam') {
        rules.push({
          name: 'CLASSIFIER_SPAM',
          score: SPAMSCANNER_POINTS.CLASSIFIER_SPAM,
          description: 'naive-Bayes classifier says spam',
        });
      }
    }
    for (const description of scanner.getArbitraryResults(mail)) {
      rules.push({ name: 'GTUBE', score: SPAMSCANNER_POINTS.GTUBE, description });
    }
    const phishing = (await scanner.getPhishingResults(mail)).messages;
    if (typeof mail.html === 'string') {
      phishing.push(...mismatchedLinks(mail.html));
    }
    const score = rules.reduce((sum, r) => sum + (r.score ?? 0), 0);
    return { result: { engine: 'spamscanner', status: 'ok', score, rules }, phishing };
  }
}

/**
 * A trained model as the relay stores it: spamscanner's naive-Bayes state and the replacement
 * words it was trained with. spamscanner draws those words at random in every process that has
 * none, and a model only means something with the ones its tokens were made with.
 */
const modelSchema = z.object({
  classifier: z.looseObject({ categories: z.array(z.string()) }),
  replacements: z.record(z.string(), z.string().min(1)),
});

export type SpamscannerModel = z.infer<typeof modelSchema>;

export async function readSpamscannerModel(file: string): Promise<SpamscannerModel> {
  const parsed = modelSchema.safeParse(JSON.parse(await readFile(file, 'utf8')));
  if (!parsed.success) {
    throw new Error(
      `SER_SPAMSCANNER_CLASSIFIER_FILE (${file}) is not a model: expected {classifier, replacements}`,
    );
  }
  return parsed.data;
}
