/**
 * @module metrics/requests — requests by route, method, status and model, with their latency.
 * Each route gets its series object once, when it is registered; a request then costs two Map
 * lookups by values it already holds (status, model label) and one tally increment. The route
 * label is the route's pattern (`/v1/registry/models/:id`), never the URL a client sent.
 */
import { scrapedHistogram, ScrapedMetric, Tally, type TallySeries } from './tally.js';

/** Latency buckets, seconds: from a cached token check to a long generation. */
export const LATENCY_BUCKETS: readonly number[] = [
  0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120,
];

/** The route label of requests no route matched (404 before routing). */
export const UNMATCHED = 'unmatched';

/** The requests of one route and method: a tally per status and model label. */
export class RouteSeries {
  readonly route: string;
  readonly method: string;
  readonly #byStatus = new Map<number, Map<string, Tally>>();

  constructor(route: string, method: string) {
    this.route = route;
    this.method = method;
  }

  /** Counts one response; `model` must already be a bounded label (see `Metrics.modelLabel`). */
  observe(status: number, model: string, seconds: number): void {
    let models = this.#byStatus.get(status);
    if (models === undefined) {
      models = new Map();
      this.#byStatus.set(status, models);
    }
    let tally = models.get(model);
    if (tally === undefined) {
      tally = new Tally(LATENCY_BUCKETS);
      models.set(model, tally);
    }
    tally.observe(seconds);
  }

  *series(): Generator<TallySeries> {
    for (const [status, models] of this.#byStatus)
      for (const [model, tally] of models)
        yield {
          labels: { route: this.route, method: this.method, status: String(status), model },
          tally,
        };
  }
}

/** Every route's series, and the two metrics printed from them. */
export class RequestMetrics {
  readonly #routes: RouteSeries[] = [];
  /** Series of unmatched requests, by method (a bounded set: Node parses known methods only). */
  readonly #unmatched = new Map<string, RouteSeries>();

  /** The series of a route pattern and method (one per pair, made at route registration). */
  route(route: string, method: string): RouteSeries {
    const found = this.#routes.find((r) => r.route === route && r.method === method);
    if (found !== undefined) return found;
    const series = new RouteSeries(route, method);
    this.#routes.push(series);
    return series;
  }

  /** The series of requests that matched no route, for `method`. */
  unmatched(method: string): RouteSeries {
    let series = this.#unmatched.get(method);
    if (series === undefined) {
      series = this.route(UNMATCHED, method);
      this.#unmatched.set(method, series);
    }
    return series;
  }

  *series(): Generator<TallySeries> {
    for (const r of this.#routes) yield* r.series();
  }

  /** The metrics printed from the tallies: requests and their latency. */
  metrics(): ScrapedMetric[] {
    return [
      new ScrapedMetric(
        'gatehouse_http_requests_total',
        'Responses by route pattern, method, status and model',
        'counter',
        (name, out) => {
          for (const s of this.series())
            out.push({ metricName: name, labels: s.labels, value: s.tally.count });
        },
      ),
      scrapedHistogram(
        'gatehouse_http_request_duration_seconds',
        'Time from request to response, by route pattern, method, status and model',
        () => this.series(),
      ),
    ];
  }
}
