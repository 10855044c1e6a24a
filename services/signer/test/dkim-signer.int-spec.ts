import { testMail, verifyWithDkimpy } from '@ser/testing';
import { dkimVerify } from 'mailauth/lib/dkim/verify';
import { generateKeyPairSync } from 'node:crypto';
import { Readable } from 'node:stream';
import { dkimSignatures } from '../src/dkim/dkim-signer';
import type { SigningKey } from '../src/dkim/dkim-signer';

interface TestKey extends SigningKey {
  record: string;
}

function rsaKey(domain: string, selector: string): TestKey {
  const pair = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const p = pair.publicKey.export({ type: 'spki', format: 'der' }).toString('base64');
  return {
    domain,
    selector,
    privateKeyPem: pair.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    record: `v=DKIM1; k=rsa; p=${p}`,
  };
}

function ed25519Key(domain: string, selector: string): TestKey {
  const pair = generateKeyPairSync('ed25519');
  const spki = pair.publicKey.export({ type: 'spki', format: 'der' });
  return {
    domain,
    selector,
    privateKeyPem: pair.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    record: `v=DKIM1; k=ed25519; p=${spki.subarray(spki.length - 32).toString('base64')}`,
  };
}

const records = (keys: TestKey[]): Record<string, string> =>
  Object.fromEntries(keys.map((k) => [`${k.selector}._domainkey.${k.domain}`, k.record]));

async function sign(message: string, keys: TestKey[]): Promise<Buffer> {
  const headers = await dkimSignatures(Readable.from([Buffer.from(message)]), keys);
  return Buffer.concat([Buffer.from(headers), Buffer.from(message)]);
}

async function mailauth(raw: Buffer, keys: TestKey[]) {
  const txt = records(keys);
  const { results } = await dkimVerify(raw, {
    resolver: (name: string) => {
      const value = txt[name];
      if (value === undefined) {
        return Promise.reject(Object.assign(new Error('not found'), { code: 'ENOTFOUND' }));
      }
      return Promise.resolve([[value]]);
    },
  });
  return results.map((r) => ({ result: r.status.result, domain: r.signingDomain, selector: r.selector }));
}

/** The relay's DKIM signatures checked by two independent verifiers: mailauth and dkimpy. */
describe('dkimSignatures', () => {
  const rsa = rsaKey('acme.test', 'ser2026-a');
  const ed = ed25519Key('acme.test', 'ser2026-e');
  const message = testMail({
    from: 'Billing <billing@acme.test>',
    subject: 'Your receipt',
    text: 'Thank you for your order.\r\n\r\n\r\n',
  });

  it('signs with RSA and Ed25519 at once, and both signatures verify with mailauth and dkimpy', async () => {
    const raw = await sign(message, [rsa, ed]);
    expect(await mailauth(raw, [rsa, ed])).toEqual([
      { result: 'pass', domain: 'acme.test', selector: 'ser2026-a' },
      { result: 'pass', domain: 'acme.test', selector: 'ser2026-e' },
    ]);
    expect(verifyWithDkimpy(raw, records([rsa, ed]))).toEqual([
      { valid: true, domain: 'acme.test', selector: 'ser2026-a' },
      { valid: true, domain: 'acme.test', selector: 'ser2026-e' },
    ]);
  });

  it('uses relaxed/relaxed and SHA-256, signs the whole body (no l=), and oversigns From and Subject', async () => {
    const headers = await dkimSignatures(Readable.from([Buffer.from(message)]), [rsa]);
    const unfolded = headers.replace(/\r\n[ \t]+/g, ' ');
    expect(unfolded).toMatch(/\bc=relaxed\/relaxed;/);
    expect(unfolded).toMatch(/\ba=rsa-sha256;/);
    expect(unfolded).not.toMatch(/[;\s]l=/);
    const h = /\bh=([^;]+);/.exec(unfolded)?.[1]?.replace(/\s+/g, '').toLowerCase().split(':') ?? [];
    expect(h.filter((name) => name === 'from')).toHaveLength(2);
    expect(h.filter((name) => name === 'subject')).toHaveLength(2);
    expect(h).toEqual(expect.arrayContaining(['to', 'date', 'message-id', 'mime-version', 'content-type']));
  });

  it('breaks when a second From is added after signing, above or below the first', async () => {
    const raw = (await sign(message, [rsa])).toString();
    const above = Buffer.from(`From: Evil <ceo@acme.test>\r\n${raw}`);
    const headerEnd = raw.indexOf('\r\n\r\n');
    const below = Buffer.from(
      `${raw.slice(0, headerEnd)}\r\nFrom: Evil <ceo@acme.test>${raw.slice(headerEnd)}`,
    );
    for (const tampered of [above, below]) {
      expect((await mailauth(tampered, [rsa]))[0]?.result).not.toBe('pass');
      expect(verifyWithDkimpy(tampered, records([rsa]))[0]?.valid).toBe(false);
    }
  });

  it('still verifies when a receiver adds a header it does not sign (Received)', async () => {
    const raw = await sign(message, [ed]);
    const received = Buffer.concat([
      Buffer.from('Received: from relay.test by mx.dest.test; Sat, 28 Nov 2026\r\n'),
      raw,
    ]);
    expect((await mailauth(received, [ed]))[0]?.result).toBe('pass');
    expect(verifyWithDkimpy(received, records([ed]))[0]?.valid).toBe(true);
  });

  it('breaks when the body changes', async () => {
    const raw = (await sign(message, [rsa])).toString().replace('Thank you', 'Pay to IBAN XX00');
    expect((await mailauth(Buffer.from(raw), [rsa]))[0]?.result).not.toBe('pass');
    expect(verifyWithDkimpy(Buffer.from(raw), records([rsa]))[0]?.valid).toBe(false);
  });
});
