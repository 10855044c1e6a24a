import { needsVerification } from '../api-types';
import type { ApplicationView, DkimKeyView, DomainView, NewCredentialView } from '../api-types';
import type { ParsedArgs } from '../args';
import { CliError } from '../cli-error';
import { out, outJson, progress } from '../cli-io';
import type { Command, CommandContext } from './command';
import { formatOnboardResult } from './onboard-output';
import { dmarcRecord, smtpSettings, spfRecord } from './onboard-result';
import type { DnsRecordToPublish, OnboardResult } from './onboard-result';
import { ensureDkimKey, ensureDomain, ensureTenant, tryActivate } from './onboard-steps';
import type { ActivationOutcome, Ensured } from './onboard-steps';

async function createResources(context: CommandContext, args: ParsedArgs) {
  const { api, io } = context;
  const algorithm = args.choice('algorithm', ['rsa', 'ed25519'] as const, 'rsa');
  const domainName = args.required('domain').toLowerCase();
  const appName = args.required('app');
  const tenant = await ensureTenant(api, args.required('tenant'));
  progress(io, `✓ tenant ${tenant.view.id}${tenant.reused ? ' (existing)' : ''}`);
  const domain = await ensureDomain(api, tenant.view.id, domainName, tenant.reused);
  progress(io, `✓ domain ${domain.view.id} ${domain.view.name}${domain.reused ? ' (existing)' : ''}`);
  const key = await ensureDkimKey(api, domain.view.id, algorithm, domain.reused);
  progress(io, `✓ dkim key ${key.view.id} selector ${key.view.selector} (${key.view.status})`);
  const app = await api.post<ApplicationView>(`/v1/tenants/${tenant.view.id}/applications`, {
    name: appName,
    allowedFromDomains: [domain.view.name],
  });
  progress(io, `✓ application ${app.id} ${app.name}`);
  const credential = await api.post<NewCredentialView>(`/v1/applications/${app.id}/credentials`);
  progress(io, `✓ credential ${credential.id} ${credential.username}`);
  return { tenant, domain, key, app, credential };
}

function dnsRecords(
  context: CommandContext,
  domain: Ensured<DomainView>,
  key: Ensured<DkimKeyView>,
): DnsRecordToPublish[] {
  const records: DnsRecordToPublish[] = [];
  const { verification } = domain.view;
  if (verification !== undefined && needsVerification(domain.view)) {
    records.push({ purpose: 'domain-verification', ...verification, type: 'TXT', required: true });
  }
  if (key.view.status !== 'active') {
    records.push({ purpose: 'dkim', ...key.view.dnsRecord, type: 'TXT', required: true });
  }
  records.push(spfRecord(domain.view.name, context.env), dmarcRecord(domain.view.name));
  return records;
}

function nextSteps(domain: Ensured<DomainView>, key: Ensured<DkimKeyView>): string[] {
  const steps: string[] = [];
  if (needsVerification(domain.view)) {
    steps.push(`publish the verification record, then: ser domains verify ${domain.view.id}`);
  }
  if (key.view.status !== 'active') {
    steps.push(`publish the DKIM record, then: ser dkim activate ${key.view.id}`);
  }
  steps.push(`send a test message, then follow it: ser messages show <messageId>`);
  return steps;
}

type Resources = Awaited<ReturnType<typeof createResources>>;

function onboardResult(context: CommandContext, args: ParsedArgs, resources: Resources): OnboardResult {
  const { tenant, domain, key, app, credential } = resources;
  return {
    tenant: { id: tenant.view.id, name: tenant.view.name, reused: tenant.reused },
    domain: {
      id: domain.view.id,
      name: domain.view.name,
      reused: domain.reused,
      verifiedAt: domain.view.verifiedAt ?? undefined,
    },
    dkimKey: {
      id: key.view.id,
      selector: key.view.selector,
      algorithm: key.view.algorithm,
      status: key.view.status,
      reused: key.reused,
    },
    application: {
      id: app.id,
      name: app.name,
      allowedFromDomains: app.allowedFromDomains ?? [domain.view.name],
    },
    credential: { id: credential.id, username: credential.username },
    smtp: smtpSettings(args.string('smtp-host'), context.env, context.apiUrl, credential),
    dnsRecords: dnsRecords(context, domain, key),
    nextSteps: nextSteps(domain, key),
  };
}

/**
 * Any activation failure is reported, never thrown: the credential exists and its password is
 * shown only in this run's output, which must not be lost to a DNS or network error.
 */
async function activation(context: CommandContext, keyId: string): Promise<ActivationOutcome> {
  try {
    return await tryActivate(context.api, keyId);
  } catch (error) {
    return { status: 'pending', detail: error instanceof Error ? error.message : String(error) };
  }
}

async function onboard(context: CommandContext, args: ParsedArgs): Promise<void> {
  const resources = await createResources(context, args);
  const result = onboardResult(context, args, resources);
  const keyId = resources.key.view.id;
  if (!context.json) {
    out(context.io, formatOnboardResult(result));
  }
  if (args.flag('activate') && resources.key.view.status !== 'active') {
    result.activation = await activation(context, keyId);
    if (!context.json) {
      progress(context.io, activationLine(result.activation, keyId));
    }
  }
  if (context.json) {
    outJson(context.io, result);
  }
  if (result.activation?.status === 'pending') {
    throw new CliError('incomplete', `the DKIM key ${keyId} is not active yet`);
  }
}

function activationLine(activation: NonNullable<OnboardResult['activation']>, keyId: string): string {
  return activation.status === 'active'
    ? `✓ dkim key ${keyId} active`
    : `✗ dkim key ${keyId} not active: ${activation.detail}\n  publish the DKIM record, wait for DNS, then: ser dkim activate ${keyId}`;
}

/** `ser onboard`: tenant, domain, DKIM key, application and credential in one step. */
export const onboardCommand: Command = {
  words: ['onboard'],
  summary: 'create a tenant (or reuse ten_…), domain, DKIM key, application and SMTP credential',
  options: {
    tenant: {
      type: 'string',
      required: true,
      value: '<name|ten_id>',
      description: 'new tenant name, or an existing tenant id',
    },
    domain: {
      type: 'string',
      required: true,
      value: '<domain>',
      description: 'the sending domain (From addresses)',
    },
    app: { type: 'string', required: true, value: '<name>', description: 'application name' },
    algorithm: { type: 'string', value: 'rsa|ed25519', description: 'DKIM key algorithm (default rsa)' },
    'smtp-host': { type: 'string', value: '<host>', description: 'SMTP host to print (else SER_SMTP_HOST)' },
    activate: { type: 'boolean', description: 'try to activate the DKIM key after printing (checks DNS)' },
  },
  notes:
    'Example: ser onboard --tenant "Example Ltd" --domain example.com --app billing --smtp-host smtp.relay.example',
  run: onboard,
};
