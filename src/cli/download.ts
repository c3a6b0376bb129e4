/**
 * @module cli/download — a resumable, digest-pinned download of one model file for
 * `gatehouse models pull`: bytes stream into `<target>.part`, an interrupted download resumes
 * with an HTTP Range request, and the file is renamed into place only once the sha256 of the
 * whole file matches the pinned one.
 */
import { createWriteStream } from 'node:fs';
import { mkdir, rename, stat, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { digestFile } from '../inference/index.js';
import { formatBytes, type Progress } from './progress.js';

/** Why a download failed; stable, for callers that branch on it. */
export type DownloadErrorCode = 'DOWNLOAD_FAILED' | 'DIGEST_MISMATCH' | 'TARGET_EXISTS';

/** A download that did not end with a verified file in place. Messages hold no URL query. */
export class DownloadError extends Error {
  readonly code: DownloadErrorCode;

  constructor(code: DownloadErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'DownloadError';
    this.code = code;
  }
}

/** What to fetch, where to put it and which digest it must have. */
export interface DownloadOptions {
  readonly url: URL;
  /** Final path; bytes go to `<target>.part` until verified. */
  readonly target: string;
  /** Expected sha256, hex. */
  readonly sha256: string;
  /** Replace an existing target whose digest differs. */
  readonly force: boolean;
  readonly fetch: typeof globalThis.fetch;
  /** Abort when no byte arrives for this long (ms). */
  readonly idleTimeoutMs?: number;
  readonly onProgress?: (progress: Progress) => void;
  /** One-line notes for the operator (resuming, restarting). */
  readonly onNote?: (message: string) => void;
}

/** The verified file. `present`: it was already there and nothing was requested. */
export interface DownloadResult {
  readonly outcome: 'present' | 'downloaded';
  readonly path: string;
  readonly sha256: string;
  readonly sizeBytes: number;
  /** Bytes reused from an earlier interrupted run. */
  readonly resumedFrom: number;
}

/** The URL without credentials or query string (which may hold signed tokens), for messages. */
export function displayUrl(url: URL): string {
  return `${url.origin}${url.pathname}`;
}

async function sizeOf(path: string): Promise<number | undefined> {
  try {
    const st = await stat(path);
    if (!st.isFile()) throw new DownloadError('TARGET_EXISTS', `${path} exists and is not a file`);
    return st.size;
  } catch (err) {
    if (err instanceof Error && 'code' in err && err.code === 'ENOENT') return undefined;
    throw err;
  }
}

const reason = (err: unknown): string => {
  const cause = err instanceof Error && err.cause instanceof Error ? `: ${err.cause.message}` : '';
  return `${err instanceof Error ? err.message : String(err)}${cause}`;
};

/**
 * The last segment of the URL's path, made safe as a file name inside an output folder;
 * undefined when nothing is left (a path of dots, or one ending in `/`).
 */
export function fileNameFrom(url: URL): string | undefined {
  const segment = url.pathname.split('/').at(-1) ?? '';
  let decoded = segment;
  try {
    decoded = decodeURIComponent(segment);
  } catch {
    // Not valid percent-encoding: use it as written.
  }
  // An encoded separator (`..%2F..%2Fx`) must never reach the file system as one.
  const last = decoded.split(/[/\\]/).at(-1) ?? '';
  const name = last
    .replace(/[^A-Za-z0-9._+-]/g, '_')
    .replace(/^\.+/, '')
    .slice(0, 200);
  return name === '' ? undefined : name;
}

/** `bytes START-END/TOTAL` → start and total; `bytes *\/TOTAL` (on 416) → total only. */
function contentRange(res: Response): { start?: number; total?: number } {
  const m = /^bytes\s+(?:(\d+)-\d+|\*)\/(\d+|\*)$/i.exec(res.headers.get('content-range') ?? '');
  if (m === null) return {};
  const out: { start?: number; total?: number } = {};
  if (m[1] !== undefined) out.start = Number(m[1]);
  if (m[2] !== undefined && m[2] !== '*') out.total = Number(m[2]);
  return out;
}

/** A fetch whose signal fires after `idleMs` without `touch()`; `done()` clears the timer. */
function idleGuard(idleMs: number) {
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const touch = (): void => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      controller.abort(new Error(`no data for ${idleMs / 1000} s`));
    }, idleMs);
  };
  touch();
  return {
    signal: controller.signal,
    touch,
    done: () => {
      clearTimeout(timer);
    },
  };
}

type Plan =
  | { kind: 'write'; res: Response; offset: number; total: number | undefined }
  | { kind: 'complete' }
  | { kind: 'restart' };

/** Decides what to do with the server's answer to a request for bytes `offset-`. */
function plan(res: Response, offset: number, note: (m: string) => void): Plan {
  const range = contentRange(res);
  if (res.status === 206) {
    if (range.start === offset) return { kind: 'write', res, offset, total: range.total };
    note(`server's Content-Range does not start at byte ${offset}; restarting from zero`);
    return { kind: 'restart' };
  }
  if (res.status === 416 && offset > 0) {
    if (range.total === offset) return { kind: 'complete' };
    note('server refused to resume; restarting from zero');
    return { kind: 'restart' };
  }
  if (res.status === 200) {
    if (offset > 0) note('server does not support resuming; restarting from zero');
    const encoded = (res.headers.get('content-encoding') ?? 'identity') !== 'identity';
    const length = res.headers.get('content-length');
    // A compressed body's Content-Length counts encoded bytes, not the file's.
    const total = encoded || length === null ? undefined : Number(length);
    return { kind: 'write', res, offset: 0, total };
  }
  throw new DownloadError('DOWNLOAD_FAILED', `server answered HTTP ${res.status}`);
}

/** Streams one response into `part` (appending after a resumed prefix). */
async function write(
  opts: DownloadOptions,
  part: string,
  p: Extract<Plan, { kind: 'write' }>,
  touch: () => void,
): Promise<void> {
  const body = p.res.body;
  if (body === null) throw new DownloadError('DOWNLOAD_FAILED', 'server sent no body');
  const started = performance.now();
  let received = p.offset;
  let last = 0;
  const report = (force: boolean): void => {
    const now = performance.now();
    if (!force && now - last < 100) return;
    last = now;
    const rate = ((received - p.offset) * 1000) / Math.max(1, now - started);
    opts.onProgress?.({ received, total: p.total, rate });
  };
  async function* count(source: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
    for await (const chunk of source) {
      touch();
      received += chunk.length;
      if (p.total !== undefined && received > p.total)
        throw new Error(`server sent more than the announced ${p.total} bytes`);
      report(false);
      yield chunk;
    }
  }
  const flags = p.offset > 0 ? 'a' : 'w';
  try {
    await pipeline(
      Readable.fromWeb(body as WebReadableStream<Uint8Array>),
      count,
      createWriteStream(part, { flags }),
    );
  } finally {
    report(true);
  }
}

/**
 * Brings `part` up to the whole file: asks for the bytes after what it holds, appends on 206,
 * starts over on 200 (or a range that does not fit). Returns the bytes reused.
 */
async function transfer(
  opts: DownloadOptions,
  part: string,
  note: (m: string) => void,
): Promise<number> {
  let offset = (await sizeOf(part)) ?? 0;
  if (offset > 0) note(`resuming from ${formatBytes(offset)} in ${part}`);
  // At most one restart: a resume the server cannot honour, then one plain request.
  for (let attempt = 0; attempt < 2; attempt++) {
    const guard = idleGuard(opts.idleTimeoutMs ?? 60_000);
    try {
      const headers: Record<string, string> = { 'accept-encoding': 'identity' };
      if (offset > 0) headers.range = `bytes=${offset}-`;
      let res: Response;
      try {
        res = await opts.fetch(opts.url, { headers, redirect: 'follow', signal: guard.signal });
      } catch (err) {
        throw new DownloadError('DOWNLOAD_FAILED', `cannot fetch: ${reason(err)}`, { cause: err });
      }
      const next = plan(res, offset, note);
      if (next.kind === 'complete') return offset;
      if (next.kind === 'restart') {
        await res.body?.cancel();
        offset = 0;
        continue;
      }
      await write(opts, part, next, guard.touch).catch(async (err: unknown) => {
        const have = (await sizeOf(part)) ?? 0;
        throw new DownloadError(
          'DOWNLOAD_FAILED',
          `download interrupted at ${formatBytes(have)} (${reason(err)}); ` +
            `${part} is kept: run the same command again to resume`,
          { cause: err },
        );
      });
      const have = (await sizeOf(part)) ?? 0;
      if (next.total !== undefined && have !== next.total)
        throw new DownloadError(
          'DOWNLOAD_FAILED',
          `download ended at ${have} of ${next.total} bytes; run the same command again to resume`,
        );
      return next.offset;
    } finally {
      guard.done();
    }
  }
  throw new DownloadError('DOWNLOAD_FAILED', 'server keeps answering with the wrong range');
}

/**
 * Downloads `opts.url` to `opts.target`, resuming from `<target>.part` when one exists, and
 * verifies the pinned sha256 before the file appears under its final name. A target that
 * already has the right digest is kept and nothing is requested. On a digest mismatch the
 * partial file is deleted; on an interrupted transfer it is kept for the next run.
 */
export async function download(opts: DownloadOptions): Promise<DownloadResult> {
  const expected = opts.sha256.toLowerCase();
  const note = opts.onNote ?? (() => undefined);
  if ((await sizeOf(opts.target)) !== undefined) {
    const have = await digestFile(opts.target);
    if (have.sha256 === expected)
      return { outcome: 'present', path: opts.target, ...have, resumedFrom: 0 };
    if (!opts.force)
      throw new DownloadError(
        'TARGET_EXISTS',
        `${opts.target} already exists with sha256 ${have.sha256}, not ${expected}; ` +
          'pass --force to replace it',
      );
  }
  await mkdir(dirname(opts.target), { recursive: true });
  const part = `${opts.target}.part`;
  const resumedFrom = await transfer(opts, part, note);
  const got = await digestFile(part);
  if (got.sha256 !== expected) {
    await unlink(part).catch(() => undefined);
    throw new DownloadError(
      'DIGEST_MISMATCH',
      `sha256 mismatch for ${displayUrl(opts.url)}: expected ${expected}, got ${got.sha256}; ` +
        'the download was deleted',
    );
  }
  await rename(part, opts.target);
  return { outcome: 'downloaded', path: opts.target, ...got, resumedFrom };
}
