import { formatOnboardResult } from './onboard-output';
import { dmarcRecord, smtpSettings, spfRecord } from './onboard-result';
import type { OnboardResult } from './onboard-result';

const KEY_RECORD = {
  name: 'ser202611-778fb9._domainkey.example.com',
  type: 'TXT',
  value: 'v=DKIM1; k=rsa; p=AAAABBBB',
  strings: ['v=DKIM1; k=rsa; p=AAAA', 'BBBB'],
};

function result(env: Record<string, string> = {}): OnboardResult {
  return {
    tenant: { id: 'ten_1182678fb7ab9bc4e99a6cac', name: 'Example Ltd', reused: false },
    domain: { id: 'dom_fa2e0b33ae4a7b7748fed1dc', name: 'example.com', reused: false },
    dkimKey: {
      id: 'dk_c52541b42a24567f5c775506',
      selector: 'ser202611-778fb9',
      algorithm: 'rsa',
      status: 'pending',
      reused: false,
    },
    application: { id: 'app_690bc81edd23e4fae866f45f', name: 'billing', allowedFromDomains: ['example.com'] },
    credential: { id: 'cred_a3926df538879daf62b68ae1', username: 'app_07a37a3b16beb5ab9aee' },
    smtp: smtpSettings(undefined, env, 'http://admin.relay.example:8080', {
      username: 'app_07a37a3b16beb5ab9aee',
      password: '9EWf4VxmS76owl8cM-l0lUw4ee4kfFDG',
    }),
    dnsRecords: [
      {
        purpose: 'domain-verification',
        name: '_ser-verification.example.com',
        type: 'TXT',
        value: 'ser-verify=abc',
        required: true,
      },
      { purpose: 'dkim', ...KEY_RECORD, type: 'TXT', required: true },
      spfRecord('example.com', env),
      dmarcRecord('example.com'),
    ],
    nextSteps: ['publish the DKIM record, then: ser dkim activate dk_c52541b42a24567f5c775506'],
  };
}

describe('onboard output', () => {
  it('prints the SMTP settings, the password once and clearly marked, and every record', () => {
    const text = formatOnboardResult(result());
    expect(text).toContain(
      [
        'SMTP settings',
        '  host:     admin.relay.example  (the API host; set --smtp-host or SER_SMTP_HOST)',
        '  ports:    587 (STARTTLS), 465 (implicit TLS)',
        '  auth:     PLAIN or LOGIN, only after TLS',
        '  username: app_07a37a3b16beb5ab9aee',
        '  password: 9EWf4VxmS76owl8cM-l0lUw4ee4kfFDG',
        '  ^ shown once: store it now (the API never returns it again)',
      ].join('\n'),
    );
    expect(text.split('9EWf4VxmS76owl8cM-l0lUw4ee4kfFDG')).toHaveLength(2);
    expect(text).toContain(
      '  1. Domain verification (required)\n     _ser-verification.example.com.  IN TXT  "ser-verify=abc"',
    );
    expect(text).toContain(
      '  2. DKIM key (required)\n     ser202611-778fb9._domainkey.example.com.  IN TXT  "v=DKIM1; k=rsa; p=AAAA" "BBBB"',
    );
    expect(text).toContain('example.com.  IN TXT  "v=spf1 include:<the relay SPF domain> ~all"');
    expect(text).toContain(
      '_dmarc.example.com.  IN TXT  "v=DMARC1; p=none; rua=mailto:dmarc-reports@example.com"',
    );
    expect(text).toContain(
      'Next steps\n  1. publish the DKIM record, then: ser dkim activate dk_c52541b42a24567f5c775506',
    );
  });

  it('takes the SMTP host and ports from the environment, and SPF from the relay settings', () => {
    const r = result({
      SER_SMTP_HOST: 'smtp.relay.example',
      SER_INGRESS_SUBMISSION_PORT: '2587',
      SER_RELAY_SENDING_IPS: '192.0.2.10, 2001:db8::25',
    });
    expect(r.smtp).toMatchObject({
      host: 'smtp.relay.example',
      hostSource: 'env',
      ports: [
        { port: 2587, security: 'STARTTLS' },
        { port: 465, security: 'implicit TLS' },
      ],
    });
    expect(r.dnsRecords[2]?.value).toBe('v=spf1 ip4:192.0.2.10 ip6:2001:db8::25 ~all');
    expect(spfRecord('example.com', { SER_RELAY_SPF_INCLUDE: '_spf.relay.example' }).value).toBe(
      'v=spf1 include:_spf.relay.example ~all',
    );
    expect(
      smtpSettings('smtp.flag.example', { SER_SMTP_HOST: 'x' }, 'http://a', { username: 'u', password: 'p' })
        .hostSource,
    ).toBe('flag');
  });

  it('reports a pending activation', () => {
    const r = {
      ...result(),
      activation: { status: 'pending' as const, detail: 'no TXT record found at x (ENODATA)' },
    };
    expect(formatOnboardResult(r)).toMatch(
      /DKIM key not activated yet: no TXT record found at x \(ENODATA\)\n$/,
    );
  });
});
