import { COLLECTIONS } from '@ser/data';
import type { StatsDocument } from '@ser/data';
import { expectProblem, startAdminFixture } from './admin-fixture';
import type { AdminFixture } from './admin-fixture';

/**
 * A report query the database cannot finish in SER_ADMIN_REPORT_TIMEOUT_MS is stopped there (its
 * maxTimeMS) and answered 503, instead of a scan that goes on after the client gave up.
 */
describe('admin API: reports bounded by SER_ADMIN_REPORT_TIMEOUT_MS', () => {
  let fixture: AdminFixture | undefined;

  beforeAll(async () => {
    fixture = await startAdminFixture({ SER_ADMIN_REPORT_TIMEOUT_MS: '1' });
  });

  afterAll(async () => {
    await fixture?.stop();
  });

  it('answers 503 query-timeout when the statistics take longer than allowed', async () => {
    if (fixture === undefined) {
      throw new Error('no fixture');
    }
    const tenantId = (await fixture.api.created('/v1/tenants', { name: 'Big' })).id;
    // Enough documents that no database scans them in a millisecond.
    const day = new Date('2026-11-02T00:00:00Z');
    const docs: StatsDocument[] = Array.from({ length: 20_000 }, (_, i) => ({
      _id: `day/${tenantId}/app_x/${day.toISOString()}/failing_domain/d${String(i)}.test`,
      tenantId,
      appId: 'app_x',
      granularity: 'day',
      bucket: day,
      day,
      metric: 'failing_domain',
      key: `d${String(i)}.test`,
      count: 1,
    }));
    const stats = fixture.db.collection<StatsDocument>(COLLECTIONS.stats);
    for (let i = 0; i < docs.length; i += 5000) {
      await stats.insertMany(docs.slice(i, i + 5000), { ordered: false });
    }
    const problem = expectProblem(
      await fixture.api.get(`/v1/reports/summary?tenantId=${tenantId}&from=2026-11-01&to=2026-12-01`),
      503,
      'query-timeout',
    );
    expect(problem.detail).toMatch(/shorter period/);
    // The service stays up and answers what it can.
    expect((await fixture.api.get(`/v1/tenants/${tenantId}`)).status).toBe(200);
  });
});
