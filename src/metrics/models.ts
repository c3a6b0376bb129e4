/**
 * @module metrics/models — the schedulers of the served models, read when scraped: work waiting
 * and running per model, and the sizes of the batches each micro-batcher ran. Nothing is counted
 * on the request path beyond the batcher's own array increment per batch. The `model` label is
 * the id a model is served under (configured, or deployed through the registry): a bounded set
 * the operator controls.
 */
import { Gauge, type Registry } from 'prom-client';
import { ScrapedMetric } from './tally.js';

/** What metrics read of a served model (inference `ServedModel` has these members). */
export interface ScheduledModel {
  readonly config: { readonly id: string };
  /** Embedding and classification models. */
  readonly batcher?:
    | {
        readonly queued: number;
        readonly running: number;
        readonly batchSizes: Readonly<Float64Array>;
      }
    | undefined;
  /** Generation models. */
  readonly slots?: { readonly waiting: number; readonly busy: number } | undefined;
}

/** Batch-size buckets (inputs); `maxBatch` is at most 1024. */
export const BATCH_BUCKETS: readonly number[] = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024];

/** Registers the model metrics on `registry`, reading `models()` on each scrape. */
export function modelMetrics(registry: Registry, models: () => Iterable<ScheduledModel>): void {
  const registers = [registry];
  new Gauge({
    name: 'gatehouse_inference_queue_depth',
    help: 'Work waiting for a model: inputs for embedding/classification, requests for generation',
    labelNames: ['model'],
    registers,
    collect(this: Gauge<'model'>) {
      this.reset();
      for (const m of models()) {
        const waiting = m.batcher?.queued ?? m.slots?.waiting;
        if (waiting !== undefined) this.labels(m.config.id).set(waiting);
      }
    },
  });
  new Gauge({
    name: 'gatehouse_inference_running',
    help: 'Work running on a model: batches for embedding/classification, generations',
    labelNames: ['model'],
    registers,
    collect(this: Gauge<'model'>) {
      this.reset();
      for (const m of models()) {
        const running = m.batcher?.running ?? m.slots?.busy;
        if (running !== undefined) this.labels(m.config.id).set(running);
      }
    },
  });
  const batchSizes = new ScrapedMetric(
    'gatehouse_inference_batch_size',
    'Inputs per batch a model ran (embedding/classification micro-batching)',
    'histogram',
    (name, out) => {
      for (const m of models()) {
        const sizes = m.batcher?.batchSizes;
        if (sizes === undefined) continue;
        const labels = { model: m.config.id };
        let cumulative = 0;
        let sum = 0;
        let next = 0;
        for (const le of BATCH_BUCKETS) {
          for (; next <= le && next < sizes.length; next++) {
            const n = sizes[next] ?? 0;
            cumulative += n;
            sum += n * next;
          }
          out.push({ metricName: `${name}_bucket`, labels: { ...labels, le }, value: cumulative });
        }
        for (; next < sizes.length; next++) {
          cumulative += sizes[next] ?? 0;
          sum += (sizes[next] ?? 0) * next;
        }
        out.push({
          metricName: `${name}_bucket`,
          labels: { ...labels, le: '+Inf' },
          value: cumulative,
        });
        out.push({ metricName: `${name}_sum`, labels, value: sum });
        out.push({ metricName: `${name}_count`, labels, value: cumulative });
      }
    },
  );
  registry.registerMetric(batchSizes.asMetric());
}
