import { StatsRepository } from '@ser/data';
import { performance } from 'node:perf_hooks';
import { startAdminEnvironment } from './support/admin-environment';
import type { AdminHttp } from './support/admin-http';
import type { Benchmark, BenchmarkOptions, BenchmarkResult, ScenarioResult } from './support/benchmark';
import { latencyStats, measure } from './support/latency';
import { reportScenarios } from './reports/report-scenarios';
import { seedMonth } from './reports/seed-month';
import type { SeedTenant } from './reports/seed-month';

/** A 30-day month, UTC. */
const MONTH = {
  from: '2026-11-01',
  to: '2026-12-01',
  start: new Date('2026-11-01T00:00:00Z'),
  end: new Date('2026-12-01T00:00:00Z'),
};
const HOURS = 720;
/** The measured tenant's applications and their share of its traffic. */
const APP_WEIGHTS = [40, 25, 15, 12, 8] as const;
const NOISE_TENANTS = 3;

/**
 * Issue 5's promise: a month's report of a tenant with a million messages answers in well under a
 * second, because it reads statistics roll-ups, not raw events. Seeds the roll-ups such a month
 * leaves, then times the admin API's report requests over HTTP and checks every answer.
 */
export const reportsBenchmark: Benchmark = {
  name: 'reports',
  description: 'report latency over a month of a tenant with 1,000,000 messages (statistics roll-ups)',
  run: runReports,
};

async function runReports(options: BenchmarkOptions): Promise<BenchmarkResult> {
  const startedAt = new Date();
  const started = performance.now();
  const messages = positive(options.settings['messages'], 1_000_000);
  const env = await startAdminEnvironment('reports', options.settings['keep'] === 'true');
  try {
    const target = await createTenant(env.http, 'Benchmark tenant', APP_WEIGHTS, messages);
    const noise: SeedTenant[] = [];
    for (let i = 0; i < NOISE_TENANTS; i += 1) {
      noise.push(
        await createTenant(env.http, `Noise tenant ${String(i + 1)}`, [70, 30], Math.round(messages / 10)),
      );
    }
    const seed = await seedMonth(env.db, {
      target,
      noise,
      from: MONTH.start,
      hours: HOURS,
      rawEvents: 20_000,
      relayWidePerHour: 40,
      seed: 20261101,
    });
    const scenarios = reportScenarios(
      {
        tenantId: target.tenantId,
        appIds: target.apps.map((a) => a.appId),
        truth: seed.truth,
        month: MONTH,
      },
      env.http,
      new StatsRepository(env.db),
    );
    // `--only=text`: the scenarios whose name contains it (e.g. `--only=StatsRepository`).
    const only = options.settings['only'];
    const results: ScenarioResult[] = [];
    for (const scenario of scenarios.filter((sc) => only === undefined || sc.name.includes(only))) {
      const samples: number[] = [];
      let error: string | undefined;
      try {
        await measure(() => scenario.run(), options, samples);
      } catch (failure) {
        // The other scenarios still run: one slow or wrong report must not hide the rest.
        error = failure instanceof Error ? failure.message : String(failure);
      }
      results.push({
        name: scenario.name,
        request: scenario.request,
        ...latencyStats(samples),
        documentsRead: scenario.documentsRead(seed.documents),
        ...(error === undefined ? {} : { error }),
      });
    }
    return {
      name: 'reports',
      startedAt: startedAt.toISOString(),
      durationMs: Math.round(performance.now() - started),
      scenarios: results,
      details: {
        messages,
        applications: target.apps.length,
        noiseTenants: NOISE_TENANTS,
        noiseMessagesPerTenant: Math.round(messages / 10),
        eventsGenerated: seed.events,
        rollupDocuments: seed.documents.length,
        rawEventsStored: seed.rawEvents,
        generateMs: seed.generateMs,
        insertMs: seed.insertMs,
        checked: 'relay_requests, accepted and delivered of every response equal the generated totals',
      },
    };
  } finally {
    await env.stop();
  }
}

async function createTenant(
  http: AdminHttp,
  name: string,
  weights: readonly number[],
  messages: number,
): Promise<SeedTenant> {
  const tenantId = await http.create('/v1/tenants', { name });
  const apps = [];
  for (const [i, weight] of weights.entries()) {
    apps.push({
      appId: await http.create(`/v1/tenants/${tenantId}/applications`, { name: `app-${String(i + 1)}` }),
      weight,
    });
  }
  return { tenantId, apps, messages };
}

function positive(value: string | undefined, fallback: number): number {
  const n = value === undefined ? fallback : Number(value);
  return Number.isInteger(n) && n > 0 ? n : fallback;
}
