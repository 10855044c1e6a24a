declare module 'spamscanner' {
  /** The parts of a mailparser `simpleParser` result that spamscanner's checks read. */
  interface ScannedMail {
    subject?: string;
    text?: string;
    html?: string | false;
  }

  interface Classification {
    category: string;
    probability?: number;
  }

  /** spamscanner 5.x, the methods the relay calls (its README documents them). */
  class SpamScanner {
    constructor(config?: Record<string, unknown>);
    getTokensAndMailFromSource(source: Buffer): Promise<{ tokens: string[]; mail: ScannedMail }>;
    getClassification(tokens: string[]): Promise<Classification | undefined>;
    getPhishingResults(mail: ScannedMail): Promise<{ messages: string[]; links: string[] }>;
    getArbitraryResults(mail: ScannedMail): string[];
    memoizedIsCloudflareBlocked: (name: string) => Promise<{ isAdult: boolean; isMalware: boolean }>;
    /** The naive-Bayes model (@ladjs/naivebayes) over spamscanner's own tokens; trainable. */
    classifier: { learn(tokens: string[], category: string): void; toJson(): string };
    /** Its configuration; `replacements` are the random words its tokens stand in for URLs, numbers... */
    config: { replacements: Record<string, string> };
  }
  export = SpamScanner;
}
