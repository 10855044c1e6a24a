import type { DkimKeyDocument } from '@ser/data';
import { dkimDnsRecord, publicKeyOf } from '../tenants/dkim-key-material';
import type { DnsRecord } from '../tenants/dkim-key-material';
import type { DnsLookup } from './dns-lookup';
import { error, warning, withAdvice } from './findings';
import type { Finding, HealthStatus } from './findings';

export type DkimKeyToCheck = Pick<
  DkimKeyDocument,
  '_id' | 'domain' | 'selector' | 'algorithm' | 'publicKey' | 'status'
>;

export interface DkimKeyReport {
  keyId: string;
  selector: string;
  algorithm: string;
  keyStatus: string;
  name: string;
  published: boolean;
  matches: boolean;
  /** The TXT record found: the one publishing this key, else the first; null when none. */
  record: string | null;
  /** The record to publish. */
  expected: DnsRecord;
  status: HealthStatus;
  advice: string[];
}

/** The TXT record at `<selector>._domainkey.<domain>` against the key (RFC 6376 §3.6.2). */
export async function checkDkimKey(dns: DnsLookup, key: DkimKeyToCheck): Promise<DkimKeyReport> {
  const expected = dkimDnsRecord(key.domain, key.selector, key.algorithm, key.publicKey);
  const answer = await dns.txt(expected.name);
  const records = answer.status === 'found' ? answer.records : [];
  const matching = records.find((record) => publicKeyOf(record) === key.publicKey.replace(/\s+/g, ''));
  const report = {
    keyId: key._id,
    selector: key.selector,
    algorithm: key.algorithm,
    keyStatus: key.status,
    name: expected.name,
    published: records.length > 0,
    matches: matching !== undefined,
    record: matching ?? records[0] ?? null,
    expected,
  };
  const findings: Finding[] = [];
  const publish = `TXT ${expected.name} "${expected.value}"`;
  // An active key signs mail now: a missing or different record fails every signature.
  const severity = key.status === 'active' ? error : warning;
  if (answer.status === 'temperror') {
    findings.push(
      warning(`The DKIM record ${expected.name} could not be looked up (${answer.code}); check again later`),
    );
  } else if (records.length === 0) {
    findings.push(severity(`No DKIM record for selector ${key.selector}: publish ${publish}`));
  } else if (matching === undefined) {
    findings.push(
      severity(
        `The DKIM record ${expected.name} does not publish key ${key._id}: replace it with ${publish}`,
      ),
    );
  } else if (key.status === 'pending') {
    findings.push(warning(`DKIM key ${key._id} is published but still pending: activate it`));
  }
  return withAdvice(report, findings);
}
