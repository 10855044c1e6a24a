import type { CliEnv } from '../cli-env';

/** Why a record is listed: the admin API's own records are required, SPF and DMARC are advice. */
export type DnsPurpose = 'domain-verification' | 'dkim' | 'spf' | 'dmarc';

/** A DNS record the tenant publishes. */
export interface DnsRecordToPublish {
  purpose: DnsPurpose;
  name: string;
  type: 'TXT';
  value: string;
  /** The value split into character-strings of at most 255 bytes (RFC 1035 §3.3.14). */
  strings?: string[];
  required: boolean;
  note?: string;
}

/** Where the application submits mail. */
export interface SmtpSettings {
  host: string;
  /** How the host was chosen: `--smtp-host`, `SER_SMTP_HOST`, or the API URL's host as a guess. */
  hostSource: 'flag' | 'env' | 'api-url';
  ports: { port: number; security: 'STARTTLS' | 'implicit TLS' }[];
  username: string;
  /** Shown once: the API never returns it again. */
  password: string;
}

/** The outcome of `ser onboard`, printed as a table or as one JSON object. */
export interface OnboardResult {
  tenant: { id: string; name: string; reused: boolean };
  domain: { id: string; name: string; reused: boolean; verifiedAt?: string };
  dkimKey: { id: string; selector: string; algorithm: string; status: string; reused: boolean };
  application: { id: string; name: string; allowedFromDomains: string[] };
  credential: { id: string; username: string };
  smtp: SmtpSettings;
  dnsRecords: DnsRecordToPublish[];
  nextSteps: string[];
  activation?: { status: 'active' | 'pending'; detail?: string };
}

function port(value: string | undefined, fallback: number): number {
  const parsed = value === undefined ? NaN : Number(value);
  return Number.isInteger(parsed) && parsed > 0 && parsed < 65536 ? parsed : fallback;
}

/**
 * SMTP settings from `--smtp-host`, else `SER_SMTP_HOST`, else the API's host name; the ports are
 * the relay's own settings (`SER_INGRESS_SUBMISSION_PORT`, `SER_INGRESS_SUBMISSIONS_PORT`, defaults
 * 587 and 465, docs/smtp.md) when set in this environment.
 */
export function smtpSettings(
  flagHost: string | undefined,
  env: CliEnv,
  apiUrl: string,
  credential: { username: string; password: string },
): SmtpSettings {
  const envHost = env['SER_SMTP_HOST'];
  const host =
    flagHost !== undefined
      ? { host: flagHost, hostSource: 'flag' as const }
      : envHost !== undefined && envHost !== ''
        ? { host: envHost, hostSource: 'env' as const }
        : { host: new URL(apiUrl).hostname, hostSource: 'api-url' as const };
  return {
    ...host,
    ports: [
      { port: port(env['SER_INGRESS_SUBMISSION_PORT'], 587), security: 'STARTTLS' },
      { port: port(env['SER_INGRESS_SUBMISSIONS_PORT'], 465), security: 'implicit TLS' },
    ],
    username: credential.username,
    password: credential.password,
  };
}

/**
 * The suggested SPF record: `include:` of `SER_RELAY_SPF_INCLUDE`, else the addresses of
 * `SER_RELAY_SENDING_IPS`, as the DNS check advises (docs/dkim.md); `~all`, since DMARC passes
 * through DKIM alignment even where SPF does not.
 */
export function spfRecord(domain: string, env: CliEnv): DnsRecordToPublish {
  const include = env['SER_RELAY_SPF_INCLUDE'];
  const ips = (env['SER_RELAY_SENDING_IPS'] ?? '')
    .split(',')
    .map((ip) => ip.trim())
    .filter((ip) => ip !== '');
  const mechanisms =
    include !== undefined && include !== ''
      ? [`include:${include}`]
      : ips.length > 0
        ? ips.map((ip) => (ip.includes(':') ? `ip6:${ip}` : `ip4:${ip}`))
        : ['include:<the relay SPF domain>'];
  return {
    purpose: 'spf',
    name: domain,
    type: 'TXT',
    value: `v=spf1 ${mechanisms.join(' ')} ~all`,
    required: false,
    note: "merge these mechanisms into the domain's SPF record if it has one (a domain has only one)",
  };
}

/** A monitoring DMARC record to start with, as the relay's DNS check advises. */
export function dmarcRecord(domain: string): DnsRecordToPublish {
  return {
    purpose: 'dmarc',
    name: `_dmarc.${domain}`,
    type: 'TXT',
    value: `v=DMARC1; p=none; rua=mailto:dmarc-reports@${domain}`,
    required: false,
    note: `if the domain has none: DMARC passes through DKIM alignment (d=${domain}); tighten p= once reports show mail passing`,
  };
}
