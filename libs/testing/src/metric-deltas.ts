import { register } from 'prom-client';

/** A series to watch: metric name and the labels it must have. */
export type MetricSeries = [name: string, labels: Record<string, string>];

/** A counter's value summed over the series whose labels include `labels` (0 before its first increment). */
export async function counterValue(name: string, labels: Record<string, string>): Promise<number> {
  const metric = register.getSingleMetric(name);
  if (metric === undefined) {
    return 0;
  }
  const { values } = await metric.get();
  return values
    .filter((v) => Object.entries(labels).every(([key, value]) => v.labels[key] === value))
    .reduce((sum, v) => sum + v.value, 0);
}

/**
 * Reads the series, runs `action`, and returns how much each grew: tests of one process share
 * prom-client's global registry, so they assert growth, never absolute values.
 */
export async function metricDeltas<K extends string>(
  series: Record<K, MetricSeries>,
  action: () => Promise<void>,
): Promise<Record<K, number>> {
  const entries = Object.entries(series) as [K, MetricSeries][];
  const before = new Map<K, number>();
  for (const [key, [name, labels]] of entries) {
    before.set(key, await counterValue(name, labels));
  }
  await action();
  const grown = {} as Record<K, number>;
  for (const [key, [name, labels]] of entries) {
    grown[key] = (await counterValue(name, labels)) - (before.get(key) ?? 0);
  }
  return grown;
}
