import { HeaderRewriter } from './header-rewriter';
import { receivedHeader } from './received-header';
import type { ReceivedInfo } from './received-header';

const base: ReceivedInfo = {
  heloName: 'client.example',
  clientIp: '192.0.2.1',
  clientHostname: 'host.example',
  byHost: 'relay.example',
  tls: { protocol: 'TLSv1.3', cipher: 'TLS_AES_256_GCM_SHA384' },
  appId: 'app_123',
  messageId: '01JABCDEFGHJKMNPQRSTVWXYZ0',
  date: new Date(Date.UTC(2026, 10, 28, 17, 42, 41)),
};

function lines(field: string): string[] {
  return field.split('\r\n');
}

describe('receivedHeader', () => {
  it('writes the from, by, with, TLS, application, id and date clauses, folded with CRLF TAB', () => {
    expect(lines(receivedHeader(base))).toEqual([
      'Received: from client.example (host.example [192.0.2.1])',
      '\tby relay.example (Secure Email Relay) with ESMTPSA',
      '\t(TLSv1.3 TLS_AES_256_GCM_SHA384) (authenticated application app_123)',
      '\tid 01JABCDEFGHJKMNPQRSTVWXYZ0; Sat, 28 Nov 2026 17:42:41 +0000',
    ]);
  });

  it('says ESMTPA and leaves out the TLS comment without TLS (RFC 3848)', () => {
    const field = receivedHeader({ ...base, tls: undefined });
    expect(field).toMatch(/ with ESMTPA\r\n\t/);
    expect(field).not.toContain('ESMTPSA');
    expect(field).not.toContain('TLS');
  });

  it('keeps every line under 78 characters for ordinary values', () => {
    const field = receivedHeader({
      ...base,
      heloName: 'a-rather-long-client-name.department.example.com',
      clientHostname: 'a-rather-long-reverse-dns-name.isp.example.net',
      byHost: 'relay-07.eu-west.secure-email-relay.example',
    });
    expect(lines(field).length).toBeGreaterThan(3);
    for (const line of lines(field)) {
      expect(line.length).toBeLessThan(78);
    }
  });

  it('writes IPv6 address literals with the IPv6 tag and IPv4-mapped addresses as IPv4', () => {
    expect(receivedHeader({ ...base, clientIp: '2001:db8::1' })).toContain(
      '(host.example [IPv6:2001:db8::1])',
    );
    expect(receivedHeader({ ...base, clientIp: '::ffff:192.0.2.7' })).toContain('(host.example [192.0.2.7])');
  });

  it('gives only the address literal when there is no reverse-DNS name', () => {
    expect(lines(receivedHeader({ ...base, clientHostname: undefined }))[0]).toBe(
      'Received: from client.example ([192.0.2.1])',
    );
  });

  it('says unknown for a missing or empty HELO name', () => {
    expect(receivedHeader({ ...base, heloName: undefined })).toMatch(/^Received: from unknown \(/);
    expect(receivedHeader({ ...base, heloName: '' })).toMatch(/^Received: from unknown \(/);
  });

  it('keeps address-literal HELO names as they are', () => {
    expect(receivedHeader({ ...base, heloName: '[IPv6:2001:db8::1]' })).toMatch(
      /^Received: from \[IPv6:2001:db8::1\] \(/,
    );
  });

  it('replaces anything but name characters in the HELO and reverse-DNS names, so no line can be injected', () => {
    const field = receivedHeader({
      ...base,
      heloName: 'evil\r\nBcc: victim@example.com (x)',
      clientHostname: 'ptr\nX-Injected: 1',
    });
    expect(lines(field).slice(0, 2)).toEqual([
      'Received: from evil__Bcc:_victim_example.com__x_',
      '\t(ptr_X-Injected:_1 [192.0.2.1])',
    ]);
    expect(field.match(/\r\n/g)).toHaveLength(lines(field).length - 1);
    expect(field).not.toMatch(/\r\n[^\t]/);
    expect(field).not.toMatch(/\r(?!\n)|(?<!\r)\n/);
  });

  it('truncates a HELO name to 255 characters', () => {
    const field = receivedHeader({ ...base, heloName: 'a'.repeat(300) });
    expect(lines(field)[0]).toBe(`Received: from ${'a'.repeat(255)}`);
    expect(lines(field)[1]).toBe('\t(host.example [192.0.2.1])');
  });

  it('cannot break out of its comments through the TLS, application or id values', () => {
    const field = receivedHeader({
      ...base,
      tls: { protocol: 'TLS) (x', cipher: 'A\r\nB' },
      appId: 'app)\r\nBcc: x',
      messageId: 'id; x',
    });
    expect(field).toContain('(TLS___x A__B)');
    expect(field).toContain('(authenticated application app___Bcc__x)');
    expect(field).toContain('id id__x;');
  });

  it('is accepted as a prepended field by HeaderRewriter, even from hostile input', () => {
    const hostile = receivedHeader({ ...base, heloName: 'é\r\n\u0000x', clientHostname: 'ø' });
    expect(
      () => new HeaderRewriter({ prepend: [hostile], messageId: 'm', messageIdDomain: 'relay.example' }),
    ).not.toThrow();
  });
});
