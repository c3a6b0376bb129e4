/**
 * @module metrics/tally — histograms counted on the hot path without prom-client: a `Tally` is a
 * fixed array of bucket counts that an observation increments (no label hashing, no allocation),
 * and a `ScrapedHistogram` is a metric of the app's registry that reads the tallies it is given
 * when scraped and hands prom-client the series to print.
 */
import type { Metric } from 'prom-client';

/** Bucket counts of one series: `counts[i]` observations ≤ `bounds[i]` (not cumulative). */
export class Tally {
  readonly bounds: readonly number[];
  /** One count per bound, then the count above the last bound. */
  readonly counts: Float64Array;
  sum = 0;
  count = 0;

  constructor(bounds: readonly number[]) {
    this.bounds = bounds;
    this.counts = new Float64Array(bounds.length + 1);
  }

  observe(value: number): void {
    const { bounds } = this;
    let i = 0;
    while (i < bounds.length && value > (bounds[i] ?? 0)) i++;
    this.counts[i] = (this.counts[i] ?? 0) + 1;
    this.sum += value;
    this.count++;
  }
}

/** A tally's label values, as the scrape prints them. */
export interface TallySeries {
  readonly labels: Readonly<Record<string, string>>;
  readonly tally: Tally;
}

/** One printed line, as prom-client's registry reads it from a metric's `get()`. */
export interface Line {
  metricName: string;
  labels: Readonly<Record<string, string | number>>;
  value: number;
}

/** Appends the `_bucket`, `_sum` and `_count` lines of one series to `out`. */
export function histogramValues(name: string, s: TallySeries, out: Line[]): void {
  let cumulative = 0;
  const { bounds, counts } = s.tally;
  bounds.forEach((le, i) => {
    cumulative += counts[i] ?? 0;
    out.push({ metricName: `${name}_bucket`, labels: { ...s.labels, le }, value: cumulative });
  });
  cumulative += counts[bounds.length] ?? 0;
  out.push({
    metricName: `${name}_bucket`,
    labels: { ...s.labels, le: '+Inf' },
    value: cumulative,
  });
  out.push({ metricName: `${name}_sum`, labels: s.labels, value: s.tally.sum });
  out.push({ metricName: `${name}_count`, labels: s.labels, value: s.tally.count });
}

/** How a scraped metric prints: its name, and the lines to append to `out`. */
export type Lines = (name: string, out: Line[]) => void;

/**
 * A metric of the registry whose lines are read from state the server keeps itself, when it is
 * scraped. It has the members prom-client's registry calls (`get`, `reset`), so it prints like
 * any other.
 */
export class ScrapedMetric {
  readonly name: string;
  readonly help: string;
  readonly type: 'counter' | 'histogram';
  readonly #lines: Lines;

  constructor(name: string, help: string, type: 'counter' | 'histogram', lines: Lines) {
    this.name = name;
    this.help = help;
    this.type = type;
    this.#lines = lines;
  }

  get(): Promise<{ name: string; help: string; type: string; values: Line[]; aggregator: 'sum' }> {
    const values: Line[] = [];
    this.#lines(this.name, values);
    return Promise.resolve({
      name: this.name,
      help: this.help,
      type: this.type,
      values,
      aggregator: 'sum',
    });
  }

  /** The state belongs to its owners; a registry reset leaves it. */
  reset(): void {
    // Nothing to reset here.
  }

  /** As the registry's `registerMetric` types it (it takes prom-client's own classes only). */
  asMetric(): Metric {
    return this as unknown as Metric;
  }
}

/** A histogram of the tallies `read` yields at scrape time. */
export function scrapedHistogram(
  name: string,
  help: string,
  read: () => Iterable<TallySeries>,
): ScrapedMetric {
  return new ScrapedMetric(name, help, 'histogram', (n, out) => {
    for (const s of read()) histogramValues(n, s, out);
  });
}
