/** A worker's /metrics read back: samples by name and labels, and quantiles of its histograms. */

/** `name{labels}` → value, for every sample of a Prometheus text exposition. */
export type Samples = ReadonlyMap<string, number>;

export function parseMetrics(text: string): Samples {
  const samples = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const space = line.lastIndexOf(' ');
    samples.set(line.slice(0, space), Number(line.slice(space + 1)));
  }
  return samples;
}

export async function scrape(base: string, timeoutMs = 5000): Promise<Samples> {
  const response = await fetch(`${base}/metrics`, { signal: AbortSignal.timeout(timeoutMs) });
  if (response.status !== 200) throw new Error(`${base}/metrics answered ${response.status}`);
  return parseMetrics(await response.text());
}

/**
 * The q-quantile of histogram `name` from its cumulative `_bucket` samples, interpolated linearly
 * within the bucket it falls in, as Prometheus's histogram_quantile does (the highest finite
 * bound when it falls in +Inf). Undefined when the histogram has no observations.
 */
export function histogramQuantile(samples: Samples, name: string, q: number): number | undefined {
  const buckets: Array<[number, number]> = [];
  const pattern = new RegExp(`^${name}_bucket\\{(?:.*,)?le="([^"]+)"`);
  for (const [series, count] of samples) {
    const match = pattern.exec(series);
    if (match) buckets.push([match[1] === '+Inf' ? Infinity : Number(match[1]), count]);
  }
  buckets.sort((a, b) => a[0] - b[0]);
  const total = buckets[buckets.length - 1]?.[1] ?? 0;
  if (total === 0) return undefined;
  const rank = q * total;
  let [lower, below] = [0, 0];
  for (const [bound, count] of buckets) {
    if (count >= rank) {
      if (bound === Infinity) return lower;
      return count === below ? bound : lower + ((bound - lower) * (rank - below)) / (count - below);
    }
    [lower, below] = [bound, count];
  }
  return lower;
}
