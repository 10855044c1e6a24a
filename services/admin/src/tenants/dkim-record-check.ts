import type { DkimKeyDocument } from '@ser/data';
import { Resolver } from 'node:dns/promises';
import { problems } from '../http/problem';
import { publicKeyOf } from './dkim-key-material';

const SHOWN_RECORDS = 3;
const SHOWN_CHARACTERS = 80;

/** Checks that `<selector>._domainkey.<domain>` publishes a key, through the configured resolvers. */
export class DkimRecordCheck {
  private readonly resolver = new Resolver({ timeout: 3000, tries: 2 });

  constructor(servers: readonly string[]) {
    if (servers.length > 0) {
      this.resolver.setServers(servers);
    }
  }

  /** Throws a 422 problem saying what was found when no TXT record there has the key's `p=`. */
  async verify(key: DkimKeyDocument): Promise<void> {
    const name = `${key.selector}._domainkey.${key.domain}`;
    let records: string[][];
    try {
      records = await this.resolver.resolveTxt(name);
    } catch (error) {
      throw problems.unprocessable(
        `no TXT record found at ${name} (${(error as { code?: string }).code ?? 'error'})`,
      );
    }
    const values = records.map((chunks) => chunks.join(''));
    if (!values.some((value) => publicKeyOf(value) === key.publicKey)) {
      throw problems.unprocessable(
        `the TXT record at ${name} does not publish this key; found ${describeRecords(values)}`,
      );
    }
  }
}

/** What is published instead, shortened: enough to recognise an old key, a typo or a cut record. */
function describeRecords(values: string[]): string {
  if (values.length === 0) {
    return 'no TXT record';
  }
  const shown = values.slice(0, SHOWN_RECORDS).map((value) => {
    const short = value.length > SHOWN_CHARACTERS ? `${value.slice(0, SHOWN_CHARACTERS)}…` : value;
    const p = publicKeyOf(value);
    const note = p === undefined ? ' (no p= tag)' : p === '' ? ' (empty p=: a revoked key)' : '';
    return `"${short}"${note}`;
  });
  const more = values.length > SHOWN_RECORDS ? ` and ${values.length - SHOWN_RECORDS} more` : '';
  return `${values.length} TXT record${values.length === 1 ? '' : 's'}: ${shown.join(', ')}${more}`;
}
