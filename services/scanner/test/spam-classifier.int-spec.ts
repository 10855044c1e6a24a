import { testMail } from '@ser/testing';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import SpamScanner from 'spamscanner';
import { readSpamscannerModel } from '../src/spam/spamscanner-engine';
import { startScanner } from './scanner-fixture';
import type { ScannerFixture } from './scanner-fixture';

const SPAM = [
  'Congratulations winner! You won the lottery jackpot, claim your million dollar prize now',
  'Cheap pills online, no prescription needed, discount pharmacy, order pills today',
  'Double your bitcoin fast, guaranteed crypto profit, invest now and get rich quick',
  'Claim your free prize: winner selected, send your bank details to receive the million',
  'Hot singles waiting, click for free dating, exclusive discount for winners today',
];
const HAM = [
  'Your order 10234 has shipped. Tracking number 003404341610. Expected delivery Tuesday.',
  'Receipt for your payment of 42.00 EUR to Acme Shop. Thank you for your order.',
  'Your password was changed. If this was not you, contact support.',
  'Invoice 2026-118 for November is attached. Payment due in 30 days.',
  'Alarm: pump 3 pressure low at site Nord, acknowledged by the operator on duty.',
];

/**
 * spamscanner's classifier with a model trained here (the npm package ships none), configured
 * through SER_SPAMSCANNER_CLASSIFIER_FILE. spamd is off so the score is spamscanner's alone.
 */
describe('scanner: spamscanner classifier with a trained model', () => {
  let scanner: ScannerFixture;
  let dir: string;

  beforeAll(async () => {
    // As the scanner runs it: `debug: false` makes spamscanner hash its tokens (it does not under
    // NODE_ENV=test), and a model only fits tokens made the same way.
    const trainer = new SpamScanner({ clamscan: false, debug: false });
    for (const [texts, category] of [
      [SPAM, 'spam'],
      [HAM, 'ham'],
    ] as const) {
      for (const text of texts) {
        const { tokens } = await trainer.getTokensAndMailFromSource(
          Buffer.from(testMail({ subject: 'message', text })),
        );
        trainer.classifier.learn(tokens, category);
      }
    }
    dir = mkdtempSync(join(tmpdir(), 'ser-classifier-'));
    const model = join(dir, 'classifier.json');
    writeFileSync(
      model,
      JSON.stringify({
        classifier: JSON.parse(trainer.classifier.toJson()) as unknown,
        replacements: trainer.config.replacements,
      }),
    );
    scanner = await startScanner({ SER_SPAMSCANNER_CLASSIFIER_FILE: model, SER_SPAMD_HOST: undefined });
  });

  afterAll(async () => {
    await scanner?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('quarantines what the model calls spam, with the classifier named in the verdict', async () => {
    const body = testMail({
      subject: 'You are a winner',
      text: 'Winner! Claim your lottery prize, free million now',
    });
    const message = await scanner.settled(await scanner.submit(body));
    expect(message).toMatchObject({ state: 'quarantined', reason: 'spam' });
    expect(message.scan?.engines).toEqual([
      {
        engine: 'spamscanner',
        status: 'ok',
        score: 5,
        rules: [{ name: 'CLASSIFIER_SPAM', score: 5, description: 'naive-Bayes classifier says spam' }],
      },
    ]);
  });

  it('passes what the model calls ham', async () => {
    const body = testMail({
      subject: 'Shipped',
      text: 'Your order 10877 has shipped. Tracking number 0034043.',
    });
    const message = await scanner.settled(await scanner.submit(body));
    expect(message.scan?.engines[0]?.rules).toEqual([]);
    expect(message.state).toBe('scanned');
  });

  it('refuses a model file that lacks the replacement words it was trained with', async () => {
    const bare = join(dir, 'bare.json');
    writeFileSync(bare, JSON.stringify({ categories: ['spam', 'ham'], docCount: {} }));
    await expect(readSpamscannerModel(bare)).rejects.toThrow(
      /SER_SPAMSCANNER_CLASSIFIER_FILE .* is not a model: expected \{classifier, replacements\}/,
    );
  });
});
