import type { Answer, Question } from 'dns-packet';
import { followChain, negativeTtl, parseServer } from './dns-client';

describe('parseServer', () => {
  it.each([
    ['1.1.1.1', { host: '1.1.1.1', port: 53 }],
    ['127.0.0.1:5353', { host: '127.0.0.1', port: 5353 }],
    ['resolver.internal:5300', { host: 'resolver.internal', port: 5300 }],
    ['[::1]:5353', { host: '::1', port: 5353 }],
    ['[2606:4700:4700::1111]', { host: '2606:4700:4700::1111', port: 53 }],
    ['2606:4700:4700::1111', { host: '2606:4700:4700::1111', port: 53 }],
  ])('reads %s', (entry, server) => {
    expect(parseServer(entry)).toEqual(server);
  });
});

describe('followChain', () => {
  const question: Question = { name: 'www.example.test', type: 'A', class: 'IN' };

  it('returns the RRset of the asked name with its smallest TTL', () => {
    const answers: Answer[] = [
      { name: 'www.example.test', type: 'A', ttl: 300, data: '93.184.216.34' },
      { name: 'www.example.test', type: 'A', ttl: 120, data: '93.184.216.35' },
    ];
    expect(followChain(answers, question)).toEqual({ records: answers, ttlS: 120 });
  });

  it('follows CNAMEs, whatever their order and case, and counts their TTL', () => {
    const target: Answer = { name: 'Edge.CDN.test', type: 'A', ttl: 600, data: '93.184.216.40' };
    const answers: Answer[] = [
      target,
      { name: 'cdn.test', type: 'CNAME', ttl: 30, data: 'edge.cdn.test' },
      { name: 'WWW.example.test', type: 'CNAME', ttl: 900, data: 'cdn.test.' },
    ];
    expect(followChain(answers, question)).toEqual({ records: [target], ttlS: 30 });
  });

  it('ignores records of other owners that are not on the chain', () => {
    const answers: Answer[] = [{ name: 'evil.test', type: 'A', ttl: 60, data: '6.6.6.6' }];
    expect(followChain(answers, question).records).toEqual([]);
  });

  it('stops on a CNAME loop', () => {
    const answers: Answer[] = [
      { name: 'www.example.test', type: 'CNAME', ttl: 60, data: 'loop.test' },
      { name: 'loop.test', type: 'CNAME', ttl: 60, data: 'www.example.test' },
    ];
    expect(followChain(answers, question).records).toEqual([]);
  });
});

describe('negativeTtl', () => {
  const soa = (ttl: number, minimum: number): Answer => ({
    name: 'example.test',
    type: 'SOA',
    ttl,
    data: { mname: 'ns.example.test', rname: 'hostmaster.example.test', minimum },
  });

  it('uses the smaller of the SOA TTL and MINIMUM (RFC 2308 §5)', () => {
    expect(negativeTtl({ authorities: [soa(3600, 120)] })).toBe(120);
    expect(negativeTtl({ authorities: [soa(90, 3600)] })).toBe(90);
  });

  it('caps it at 300 seconds', () => {
    expect(negativeTtl({ authorities: [soa(86_400, 86_400)] })).toBe(300);
  });

  it('uses 60 seconds without an SOA', () => {
    expect(negativeTtl({ authorities: [] })).toBe(60);
    expect(negativeTtl({})).toBe(60);
  });
});
