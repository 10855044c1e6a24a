import { quotedTxt } from '../output/dns-record-text';
import { formatFields, printable } from '../output/table';
import type { DnsRecordToPublish, OnboardResult } from './onboard-result';

const PURPOSES: Readonly<Record<DnsRecordToPublish['purpose'], string>> = {
  'domain-verification': 'Domain verification',
  dkim: 'DKIM key',
  spf: 'SPF',
  dmarc: 'DMARC',
};

function recordText(record: DnsRecordToPublish, index: number): string {
  const label = `${PURPOSES[record.purpose]} (${record.required ? 'required' : 'suggested'})`;
  const lines = [`  ${index + 1}. ${label}`, `     ${printable(record.name)}.  IN TXT  ${quotedTxt(record)}`];
  if (record.note !== undefined) {
    lines.push(`     ${record.note}`);
  }
  return lines.join('\n');
}

function smtpText(result: OnboardResult): string {
  const { smtp } = result;
  const hostNote = smtp.hostSource === 'api-url' ? '  (the API host; set --smtp-host or SER_SMTP_HOST)' : '';
  return formatFields([
    ['host', `${smtp.host}${hostNote}`],
    ['ports', smtp.ports.map((p) => `${p.port} (${p.security})`).join(', ')],
    ['auth', 'PLAIN or LOGIN, only after TLS'],
    ['username', smtp.username],
  ])
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => `  ${line}`)
    .join('\n');
}

/**
 * The human-readable report of an onboarding: what exists, the SMTP settings with the password
 * marked as shown once, the DNS records to publish and the next commands.
 */
export function formatOnboardResult(result: OnboardResult): string {
  const reused = (flag: boolean): string => (flag ? ' (existing)' : '');
  const sections = [
    'Onboarded',
    formatFields([
      ['tenant', `${result.tenant.id} ${result.tenant.name}${reused(result.tenant.reused)}`],
      ['domain', `${result.domain.id} ${result.domain.name}${reused(result.domain.reused)}`],
      [
        'dkim key',
        `${result.dkimKey.id} selector ${result.dkimKey.selector} (${result.dkimKey.algorithm}, ${result.dkimKey.status})${reused(result.dkimKey.reused)}`,
      ],
      ['application', `${result.application.id} ${result.application.name}`],
      ['allowed From', result.application.allowedFromDomains.join(', ')],
      ['credential', result.credential.id],
    ])
      .replace(/^/gm, '  ')
      .trimEnd(),
    '',
    'SMTP settings',
    smtpText(result),
    `  password: ${printable(result.smtp.password)}`,
    '  ^ shown once: store it now (the API never returns it again)',
    '',
    `DNS records to publish for ${result.domain.name}`,
    ...result.dnsRecords.map(recordText),
    '',
    'Next steps',
    ...result.nextSteps.map((step, i) => `  ${i + 1}. ${step}`),
  ];
  if (result.activation !== undefined) {
    sections.push('', activationText(result.activation));
  }
  return `${sections.join('\n')}\n`;
}

function activationText(activation: NonNullable<OnboardResult['activation']>): string {
  return activation.status === 'active'
    ? 'DKIM key activated: mail from the domain is signed from now on.'
    : `DKIM key not activated yet: ${activation.detail ?? 'the record is not visible in DNS'}`;
}
