import { checkDkimKey } from './dkim-check';
import type { DkimKeyToCheck } from './dkim-check';
import { FakeDns } from './fake-dns.spec-support';

const key: DkimKeyToCheck = {
  _id: 'dk_1',
  domain: 'example.test',
  selector: 's1',
  algorithm: 'ed25519',
  publicKey: 'AAAABBBBCCCCDDDD',
  status: 'active',
};
const name = 's1._domainkey.example.test';

describe('DKIM key check', () => {
  it('matches the p= of a record split into strings, whitespace ignored', async () => {
    const record = 'v=DKIM1; k=ed25519; p=AAAA BBBB\tCCCCDDDD';
    const report = await checkDkimKey(new FakeDns({ [name]: { TXT: ['v=spf1 -all', record] } }), key);
    expect(report).toMatchObject({ name, published: true, matches: true, record, status: 'ok', advice: [] });
  });

  it('reports a different key as published but not matching, an error for an active key', async () => {
    const report = await checkDkimKey(new FakeDns({ [name]: { TXT: ['v=DKIM1; p=OTHER'] } }), key);
    expect(report).toMatchObject({
      published: true,
      matches: false,
      record: 'v=DKIM1; p=OTHER',
      status: 'errors',
    });
    expect(report.advice[0]).toContain(
      `replace it with TXT ${name} "v=DKIM1; k=ed25519; p=AAAABBBBCCCCDDDD"`,
    );
  });

  it('advises publishing a missing record; only a warning for a pending key', async () => {
    const active = await checkDkimKey(new FakeDns({}), key);
    expect(active).toMatchObject({ published: false, matches: false, record: null, status: 'errors' });
    expect(active.advice[0]).toContain('publish TXT s1._domainkey.example.test');
    const pending = await checkDkimKey(new FakeDns({}), { ...key, status: 'pending' });
    expect(pending.status).toBe('warnings');
  });
});
