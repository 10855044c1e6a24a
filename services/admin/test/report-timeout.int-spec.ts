import { COLLECTIONS, rollupId } from '@ser/data';
import type { StatsRollupDocument } from '@ser/data';
import { expectProblem, startAdminFixture } from './admin-fixture';
import type { AdminFixture } from './admin-fixture';

/**
 * A report whose statistics cannot be read in SER_ADMIN_REPORT_TIMEOUT_MS stops reading there and
 * answers 503, and the service goes on answering other requests.
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
    // Roll-ups too big for any database to read and decode in a millisecond (every day of the
    // month; 100 applications each at the key cap of one metric).
    const stats = fixture.db.collection<StatsRollupDocument>(COLLECTIONS.statsRollups);
    const counts = (app: number) =>
      Object.fromEntries(
        Array.from({ length: 200 }, (_, i) => [`d${String(i)}%2Eapp${String(app)}%2Etest`, i + 1]),
      );
    for (let day = 1; day <= 30; day += 1) {
      const bucket = new Date(Date.UTC(2026, 10, day));
      const a: StatsRollupDocument['a'] = {};
      for (let app = 0; app < 100; app += 1) {
        a[`app_${String(app)}`] = { failing_domain: counts(app) };
      }
      await stats.insertOne({
        _id: rollupId('day', tenantId, bucket),
        tenantId,
        granularity: 'day',
        bucket,
        day: bucket,
        a,
        n: {},
        v: {},
      });
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
