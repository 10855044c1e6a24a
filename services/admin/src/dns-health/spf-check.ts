import { isIPv4 } from 'node:net';
import type { DnsLookup } from './dns-lookup';
import { error, warning, withAdvice } from './findings';
import type { Finding, HealthStatus } from './findings';
import { evaluateSpf } from './spf-evaluator';
import type { SpfEvaluation } from './spf-evaluator';
import { parseSpfRecord, selectSpfRecord } from './spf-record';

export interface SpfSettings {
  /** SER_RELAY_SENDING_IPS: the addresses the relay's egress sends from. */
  sendingIps: readonly string[];
  /** SER_RELAY_SPF_INCLUDE: a domain whose SPF record lists them. */
  spfInclude?: string;
}

export type SpfDomainSource = 'domain' | 'envelope-sender';

export interface SpfDomainReport {
  domain: string;
  source: SpfDomainSource;
  recordStatus: 'found' | 'none' | 'permerror' | 'temperror';
  record: string | null;
  /** Whether every sending IP passes; null when SER_RELAY_SENDING_IPS is not configured. */
  authorised: boolean | null;
  ips: (SpfEvaluation & { ip: string })[];
  status: HealthStatus;
  advice: string[];
}

/** The SPF record of `domain` evaluated for each of the relay's sending IPs. */
export async function checkSpf(
  dns: DnsLookup,
  domain: string,
  source: SpfDomainSource,
  settings: SpfSettings,
): Promise<SpfDomainReport> {
  const txt = await dns.txt(domain);
  const selected =
    txt.status === 'temperror'
      ? ({ status: 'temperror' } as const)
      : selectSpfRecord(txt.status === 'found' ? txt.records : []);
  const record = selected.status === 'found' ? selected.text : null;
  const ips = await Promise.all(
    settings.sendingIps.map(async (ip) => ({ ip, ...(await evaluateSpf(dns, ip, domain)) })),
  );
  const authorised = settings.sendingIps.length === 0 ? null : ips.every((ip) => ip.result === 'pass');
  const report = { domain, source, recordStatus: selected.status, record, authorised, ips };
  return withAdvice(report, spfAdvice(report, settings));
}

function spfAdvice(report: Omit<SpfDomainReport, 'status' | 'advice'>, settings: SpfSettings): Finding[] {
  const { domain } = report;
  if (report.recordStatus === 'temperror') {
    return [warning(`The SPF record of ${domain} could not be looked up; check again later`)];
  }
  if (report.authorised === null) {
    return [
      warning(
        `Cannot tell whether the SPF record of ${domain} authorises the relay: ` +
          'configure SER_RELAY_SENDING_IPS with the addresses the relay sends from',
      ),
    ];
  }
  const failing = report.ips.filter((ip) => ip.result !== 'pass');
  if (failing.length === 0) {
    return [];
  }
  const broken = failing.find((ip) => ip.result === 'permerror' || ip.result === 'temperror');
  if (broken !== undefined) {
    return [brokenFinding(domain, broken)];
  }
  const mechanisms =
    settings.spfInclude === undefined
      ? failing.map((ip) => `${isIPv4(ip.ip) ? 'ip4' : 'ip6'}:${ip.ip}`)
      : [`include:${settings.spfInclude}`];
  const results = failing.map((ip) => `${ip.ip}: ${ip.result}`).join(', ');
  const severity = failing.some((ip) => ip.result === 'fail') ? error : warning;
  const findings = [
    severity(
      `The SPF record of ${domain} does not authorise the relay (${results}): add ${mechanisms.join(' ')}, ` +
        `e.g. "${suggestedRecord(report.record, mechanisms)}"`,
    ),
  ];
  if (report.record !== null && /\s-all\s*$/i.test(report.record)) {
    findings.push(
      warning(
        `The SPF record of ${domain} ends in -all: while migrating to the relay, use ~all (softfail) so ` +
          'mail it does not cover yet is not rejected; DMARC still passes through DKIM alignment',
      ),
    );
  }
  return findings;
}

function brokenFinding(domain: string, evaluation: SpfEvaluation & { ip: string }): Finding {
  const detail = evaluation.detail === undefined ? '' : ` (${evaluation.detail})`;
  return evaluation.result === 'temperror'
    ? warning(
        `The SPF check of ${domain} for ${evaluation.ip} failed temporarily${detail}; check again later`,
      )
    : error(`The SPF record of ${domain} is broken: receivers see permerror${detail}; fix the record`);
}

/** The mechanisms added before the `all` (or `redirect=`) that ends the record, or a new record. */
export function suggestedRecord(record: string | null, mechanisms: readonly string[]): string {
  const parsed = record === null ? undefined : parseSpfRecord(record);
  if (parsed === undefined || !parsed.ok) {
    return `v=spf1 ${mechanisms.join(' ')} ~all`;
  }
  const terms = parsed.record.text.split(' ').filter((t) => t !== '');
  const missing = mechanisms.filter((m) => !terms.some((t) => t.toLowerCase() === m.toLowerCase()));
  const end = terms.findIndex((t) => /^[+\-~?]?all$/i.test(t) || /^redirect=/i.test(t));
  const at = end === -1 ? terms.length : end;
  return [...terms.slice(0, at), ...missing, ...terms.slice(at)].join(' ');
}
