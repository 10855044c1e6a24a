import { applicationsCsvRows } from './applications-report.use-case';
import type { ApplicationsReport } from './applications-report.use-case';
import { reportCounts, summaryCsvRows } from './summary-report.use-case';

const period = {
  tenantId: 'ten_0123456789abcdef01234567',
  from: '2026-11-01T00:00:00.000Z',
  to: '2026-11-02T00:00:00.000Z',
  tz: 'UTC',
};

describe('report rows', () => {
  it('gives every counted metric, 0 or {} when nothing happened', () => {
    expect(reportCounts({ accepted: { '': 3 }, rejected: { spam: 2, av: 1 } })).toEqual({
      relay_requests: 0,
      accepted: 3,
      delivered: 0,
      deferred: 0,
      bounced: 0,
      expired: 0,
      suppressed: 0,
      quarantined: 0,
      held: {},
      rejected: { spam: 2, av: 1 },
    });
  });

  it('lists the summary as metric, key, count rows in the order of the JSON', () => {
    const rows = summaryCsvRows({
      ...period,
      counts: reportCounts({ accepted: { '': 3 }, held: { av_unavailable: 1 } }),
      topFailingDomains: [{ domain: 'gone.test', count: 2 }],
      senders: {
        headerFrom: [{ address: 'a@x.test', count: 3 }],
        envelope: [{ address: 'b@x.test', count: 3 }],
      },
      refusedIps: [{ ip: '192.0.2.1', count: 4 }],
    });
    expect(rows.slice(0, 2)).toEqual([
      ['relay_requests', '', 0],
      ['accepted', '', 3],
    ]);
    expect(rows.slice(8)).toEqual([
      ['held', 'av_unavailable', 1],
      ['failing_domain', 'gone.test', 2],
      ['sender_from', 'a@x.test', 3],
      ['sender_envelope', 'b@x.test', 3],
      ['refused_ip', '192.0.2.1', 4],
    ]);
  });

  it('gives each application its most recent credential use and counts only usable credentials', () => {
    const counts = {
      relay_requests: 1,
      accepted: 1,
      delivered: 1,
      deferred: 0,
      bounced: 0,
      expired: 0,
      suppressed: 0,
      quarantined: 0,
      held: 0,
      rejected: 0,
    };
    const report: ApplicationsReport = {
      ...period,
      applications: [
        {
          appId: 'app_1',
          name: 'billing',
          status: 'active',
          createdAt: period.from,
          counts,
          credentials: [
            {
              id: 'cred_old',
              username: 'u1',
              status: 'active',
              createdAt: period.from,
              lastUsedAt: '2026-11-01T01:00:00.000Z',
              lastUsedIp: '192.0.2.1',
            },
            {
              id: 'cred_new',
              username: 'u2',
              status: 'revoked',
              createdAt: period.from,
              lastUsedAt: '2026-11-01T02:00:00.000Z',
              lastUsedIp: '192.0.2.2',
            },
            {
              id: 'cred_exp',
              username: 'u3',
              status: 'active',
              createdAt: period.from,
              expiresAt: '2026-11-01T03:00:00.000Z',
            },
          ],
        },
      ],
    };
    expect(applicationsCsvRows(report, '2026-11-02T00:00:00.000Z')).toEqual([
      [
        'app_1',
        'billing',
        'active',
        1,
        1,
        1,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        1,
        '2026-11-01T02:00:00.000Z',
        '192.0.2.2',
        'cred_new',
      ],
    ]);
  });
});
