/**
 * @module cli/commands/models — `gatehouse models list|pull`: what the server would load from
 * the current config (loaded for real, then freed), and fetching a model file the operator
 * asks for, pinned to a sha256. Nothing is downloaded except by `pull`.
 */
import { basename, dirname, extname, join, resolve } from 'node:path';
import { stringify } from 'yaml';
import type { Config } from '../../config/index.js';
import { createInference, type Inference } from '../../inference/index.js';
import { leaf, UsageError, type Group, type Input, type Io } from '../command.js';
import { CONFIG_OPTIONS, configFrom, HELP_OPTION, JSON_OPTION } from '../context.js';
import { displayUrl, download, fileNameFrom, type DownloadResult } from '../download.js';
import { formatBytes, progressReporter } from '../progress.js';
import { registryCommands } from './models-registry.js';

/** One line of `models list`: a configured model, or a few-shot classifier built on one. */
interface ModelRow {
  id: string;
  kind: 'model' | 'classifier';
  backend: string | null;
  task: string | null;
  status: 'loaded' | 'failed';
  error: string | null;
  /** Classifiers: the embedding model they run on. */
  model: string | null;
  path: string | null;
  sha256: string | null;
  sizeBytes: number | null;
  loadMs: number | null;
  rssDeltaBytes: number | null;
  dimensions: number | null;
  contextSize: number | null;
  labels: string[] | null;
}

/** The measurements a row lacks until a loaded model supplies them. */
const UNMEASURED = {
  model: null,
  path: null,
  sha256: null,
  sizeBytes: null,
  loadMs: null,
  rssDeltaBytes: null,
  dimensions: null,
  contextSize: null,
  labels: null,
} as const;

function modelRows(config: Config, inference: Inference): ModelRow[] {
  const served = new Map(inference.served.served().map((m) => [m.config.id, m]));
  const failed = new Map(inference.served.failed().map((m) => [m.config.id, m]));
  return config.models.map((c) => {
    const m = served.get(c.id);
    const info = m?.info;
    return {
      id: c.id,
      kind: 'model',
      backend: c.backend,
      task: info?.task ?? ('task' in c ? c.task : undefined) ?? null,
      status: m === undefined ? 'failed' : 'loaded',
      error: m === undefined ? (failed.get(c.id)?.error ?? 'not loaded') : null,
      model: null,
      path: ('path' in c ? c.path : undefined) ?? null,
      sha256: info?.sha256 ?? null,
      sizeBytes: info?.sizeBytes ?? null,
      loadMs: info?.loadMs ?? null,
      rssDeltaBytes: info?.rssDeltaBytes ?? null,
      dimensions: info?.dimensions ?? null,
      contextSize: info?.contextSize ?? null,
      labels: info?.labels === undefined ? null : [...info.labels],
    };
  });
}

function classifierRows(config: Config, inference: Inference): ModelRow[] {
  return inference.classifiers.map((c) => ({
    ...UNMEASURED,
    id: c.name,
    kind: 'classifier',
    backend: config.models.find((m) => m.id === c.model)?.backend ?? null,
    task: 'classification',
    status: c.status === 'ready' ? 'loaded' : 'failed',
    error: c.error ?? null,
    model: c.model,
    path: c.examples ?? null,
    loadMs: c.loadMs ?? null,
    labels: c.labels === undefined ? null : [...c.labels],
  }));
}

function details(r: ModelRow): string {
  if (r.status === 'failed') return r.error ?? '';
  const parts: string[] = [];
  if (r.model !== null) parts.push(`on ${r.model}`);
  if (r.dimensions !== null) parts.push(`dimensions=${r.dimensions}`);
  if (r.contextSize !== null) parts.push(`context=${r.contextSize}`);
  if (r.labels !== null) parts.push(`labels=${r.labels.join(',')}`);
  return parts.join(' ');
}

/** Rows as an aligned table; the last column (details, errors) is not padded. */
function table(rows: readonly ModelRow[]): string {
  const dash = (v: string | null | undefined): string => v ?? '-';
  const lines = [
    ['ID', 'BACKEND', 'TASK', 'STATUS', 'SHA256', 'SIZE', 'LOAD', 'RSS', 'DETAILS'],
    ...rows.map((r) => [
      r.id,
      dash(r.backend),
      dash(r.task),
      r.status,
      r.sha256 === null ? '-' : `${r.sha256.slice(0, 12)}…`,
      r.sizeBytes === null ? '-' : formatBytes(r.sizeBytes),
      r.loadMs === null ? '-' : `${r.loadMs} ms`,
      r.rssDeltaBytes === null ? '-' : formatBytes(r.rssDeltaBytes),
      details(r),
    ]),
  ];
  const widths = lines[0]?.map((_, i) => Math.max(...lines.map((l) => (l[i] ?? '').length))) ?? [];
  return lines
    .map((l) =>
      l.map((cell, i) => (i === l.length - 1 ? cell : cell.padEnd(widths[i] ?? 0))).join('  '),
    )
    .join('\n');
}

async function list(config: Config, json: boolean, out: (line: string) => void): Promise<void> {
  const inference = await createInference(config, { log: () => undefined });
  let rows: ModelRow[];
  try {
    rows = [...modelRows(config, inference), ...classifierRows(config, inference)];
  } finally {
    await inference.close();
  }
  out(json ? JSON.stringify(rows) : table(rows));
}

const PULL_OPTIONS = {
  sha256: {
    type: 'string',
    value: 'HEX',
    help: 'sha256 of the file (required: downloads are pinned)',
  },
  out: { type: 'string', value: 'FILE', help: 'where to write it' },
  dir: { type: 'string', value: 'DIR', help: 'folder to write it into (default DATA_DIR/models)' },
  force: { type: 'boolean', default: false, help: 'replace a different file already there' },
  ...JSON_OPTION,
  ...CONFIG_OPTIONS,
  ...HELP_OPTION,
} as const;
type PullValues = Input<typeof PULL_OPTIONS>['values'];

/** The `models:` entry to add for a pulled file, and what else the operator must do. */
function configSnippet(
  path: string,
  sha256: string,
): { entry: Record<string, string>; note?: string } {
  const ext = extname(path).toLowerCase();
  const id =
    basename(path, extname(path))
      .replace(/[^A-Za-z0-9._:-]/g, '-')
      .replace(/^[^A-Za-z0-9]+/, '')
      .slice(0, 64) || 'model';
  if (ext === '.onnx') {
    const inOnnx = basename(dirname(path)) === 'onnx';
    const folder = inOnnx ? dirname(dirname(path)) : join(dirname(path), id);
    return {
      entry: { id, backend: 'onnx', path: folder, sha256 },
      note:
        'onnx models load from a folder, not a file: config.json and the tokenizer files at ' +
        `its top and this file as onnx/model.onnx (or onnx/model_quantized.onnx)` +
        (inOnnx ? `; path is ${folder}` : `; move it to ${join(folder, 'onnx', 'model.onnx')}`),
    };
  }
  const entry = { id, backend: 'llama-cpp', path, sha256 };
  if (ext === '.gguf') return { entry };
  return { entry, note: `backend guessed: '${ext}' is neither .gguf nor .onnx; check it` };
}

function parseUrl(raw: string | undefined): URL {
  if (raw === undefined) throw new UsageError('a URL is required');
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new UsageError('not a valid URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new UsageError(`only http: and https: URLs can be pulled, not ${url.protocol}`);
  if (url.username !== '' || url.password !== '')
    throw new UsageError('credentials in the URL are not supported');
  return url;
}

function targetFor(url: URL, values: PullValues): string {
  if (values.out !== undefined && values.dir !== undefined)
    throw new UsageError('use either --out or --dir, not both');
  if (values.out !== undefined) return resolve(values.out);
  const dir = resolve(values.dir ?? join(configFrom(values).dataDir, 'models'));
  const name = fileNameFrom(url);
  if (name === undefined) throw new UsageError('the URL names no file; pass --out FILE');
  const target = join(dir, name);
  if (dirname(target) !== dir) throw new UsageError('the URL names a file outside --dir');
  return target;
}

async function pull(values: PullValues, positionals: readonly string[], io: Io): Promise<void> {
  const out = io.out;
  const url = parseUrl(positionals[0]);
  const sha256 = values.sha256?.toLowerCase();
  if (sha256 === undefined || !/^[0-9a-f]{64}$/.test(sha256))
    throw new UsageError('--sha256 HEX (64 hex characters) is required: downloads are pinned');
  const target = targetFor(url, values);
  const progress = progressReporter(process.stderr);
  const note = (m: string): void => {
    progress.end();
    process.stderr.write(`${m}\n`);
  };
  if (!values.json) process.stderr.write(`pulling ${displayUrl(url)} → ${target}\n`);
  let result: DownloadResult;
  try {
    result = await download({
      url,
      target,
      sha256,
      force: values.force,
      fetch: globalThis.fetch,
      onProgress: (p) => {
        progress.update(p);
      },
      onNote: note,
    });
  } finally {
    progress.end();
  }
  const { entry, note: extra } = configSnippet(result.path, result.sha256);
  if (values.json) {
    out(
      JSON.stringify({ ...result, config: entry, ...(extra === undefined ? {} : { note: extra }) }),
    );
    return;
  }
  out(
    result.outcome === 'present'
      ? `${result.path} is already present with sha256 ${result.sha256}; nothing downloaded`
      : `downloaded ${result.path} (${formatBytes(result.sizeBytes)}), sha256 ${result.sha256} verified`,
  );
  out(`\nadd to gatehouse.yaml:\n\n${stringify({ models: [entry] }).trimEnd()}`);
  if (extra !== undefined) out(`\nnote: ${extra}`);
}

const listCommand = leaf({
  name: 'gatehouse models list',
  summary: 'show what the server would load from the config, with digest, size, load time, memory',
  synopsis: '[--json] [--config FILE] [--data-dir DIR]',
  description: 'Loads every configured model for real, then frees it.',
  options: { ...JSON_OPTION, ...CONFIG_OPTIONS, ...HELP_OPTION },
  async run({ values }, io) {
    await list(configFrom(values), values.json, io.out);
  },
});

const pullCommand = leaf({
  name: 'gatehouse models pull',
  summary: 'download a model file, verified against its sha256 (resumable)',
  synopsis: 'URL --sha256 HEX [--out FILE | --dir DIR] [--force] [--json]',
  description:
    'Prints the models: entry to add to gatehouse.yaml. Nothing else is ever downloaded.',
  options: PULL_OPTIONS,
  positionals: { name: 'URL', min: 0, max: 1 },
  async run({ values, positionals }, io) {
    await pull(values, positionals, io);
  },
});

/** `gatehouse models list|pull`; usage errors exit 2, failed downloads 1. */
export const command: Group = {
  kind: 'group',
  name: 'gatehouse models',
  summary: 'list and pull model files; propose, approve, deploy and trace registry versions',
  commands: [listCommand, pullCommand, ...registryCommands],
};
