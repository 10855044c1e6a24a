import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The relay's metric contract (docs/metrics.md): the only `ser_*` names a panel may query. A
 * histogram may also be queried through its `_bucket`, `_sum` and `_count` series.
 */
const CONTRACT: Readonly<Record<string, 'counter' | 'gauge' | 'histogram'>> = {
  ser_smtp_sessions_total: 'counter',
  ser_smtp_replies_total: 'counter',
  ser_smtp_auth_failures_total: 'counter',
  ser_smtp_admission_refusals_total: 'counter',
  ser_delivery_attempts_total: 'counter',
  ser_dns_cache_lookups_total: 'counter',
  ser_events_total: 'counter',
  ser_queue_jobs: 'gauge',
  ser_queue_oldest_age_seconds: 'gauge',
  ser_stage_duration_seconds: 'histogram',
};

interface Target {
  expr?: string;
  datasource?: { type?: string; uid?: string };
}

interface Panel {
  id: number;
  type: string;
  title: string;
  datasource?: { type?: string; uid?: string };
  gridPos?: { h: number; w: number; x: number; y: number };
  targets?: Target[];
  panels?: Panel[];
}

interface Dashboard {
  __inputs: { name: string; type: string; pluginId: string }[];
  schemaVersion: number;
  uid: string;
  title: string;
  panels: Panel[];
}

const dashboard = JSON.parse(
  readFileSync(join(__dirname, 'ser-relay-dashboard.json'), 'utf8'),
) as Dashboard;

function allPanels(panels: readonly Panel[]): Panel[] {
  return panels.flatMap((panel) => [panel, ...allPanels(panel.panels ?? [])]);
}

const queryPanels = allPanels(dashboard.panels).filter((panel) => panel.type !== 'row');
const expressions = queryPanels.flatMap((panel) =>
  (panel.targets ?? []).map((target) => ({ panel: panel.title, expr: target.expr ?? '' })),
);

/** The contract name a series name belongs to, or undefined. */
function contractName(series: string): string | undefined {
  if (CONTRACT[series] !== undefined) {
    return series;
  }
  const base = series.replace(/_(bucket|sum|count)$/, '');
  return CONTRACT[base] === 'histogram' ? base : undefined;
}

describe('Grafana dashboard deploy/grafana/ser-relay-dashboard.json', () => {
  it('is an importable dashboard with a Prometheus datasource input', () => {
    expect(dashboard.schemaVersion).toBeGreaterThanOrEqual(36);
    expect(dashboard.uid).toBe('ser-relay');
    expect(dashboard.__inputs).toEqual([
      expect.objectContaining({ name: 'DS_PROMETHEUS', type: 'datasource', pluginId: 'prometheus' }),
    ]);
    for (const panel of queryPanels) {
      expect({ panel: panel.title, uid: panel.datasource?.uid }).toEqual({
        panel: panel.title,
        uid: '${DS_PROMETHEUS}',
      });
      expect(panel.gridPos).toBeDefined();
      expect(panel.targets?.length ?? 0).toBeGreaterThan(0);
    }
    const ids = allPanels(dashboard.panels).map((panel) => panel.id);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('queries only the ser_* metrics of the contract', () => {
    const unknown = expressions.flatMap(({ panel, expr }) =>
      [...expr.matchAll(/\bser_[a-z0-9_]+/g)]
        .map(([series]) => series)
        .filter((series) => contractName(series) === undefined)
        .map((series) => `${panel}: ${series}`),
    );
    expect(unknown).toEqual([]);
  });

  it('shows every metric of the contract somewhere', () => {
    const used = new Set(
      expressions.flatMap(({ expr }) =>
        [...expr.matchAll(/\bser_[a-z0-9_]+/g)].map(([series]) => contractName(series)),
      ),
    );
    expect(Object.keys(CONTRACT).filter((name) => !used.has(name))).toEqual([]);
  });
});
