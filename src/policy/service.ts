/**
 * @module policy/service — the policy in force, from a file or built in, reloaded when the file
 * changes without a restart. The file is watched through its directory (so editors that write a
 * new file and rename it over the old one are seen too) with a stat poll as a fallback (network
 * file systems, watchers that die), debounced. An edit that does not validate is refused with a
 * logged error and the last good policy stays in force; every attempt is told to `onReload`
 * listeners (the audit log records them).
 */
import { createHash } from 'node:crypto';
import { readFileSync, statSync, watch, type FSWatcher } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import { builtinPolicy } from './builtin.js';
import { PolicyFileError } from './errors.js';
import { MAX_POLICY_BYTES, parsePolicy } from './parse.js';
import { Snapshot } from './snapshot.js';
import type { Policy, PolicySnapshot, ReloadEvent } from './types.js';

/** Where log lines go (the server's logger; levels as pino's). */
export type PolicyLog = (
  level: 'info' | 'warn' | 'error',
  obj: Record<string, unknown>,
  msg: string,
) => void;

export interface PolicyOptions {
  /** The policy file (YAML); undefined: the built-in policy, never reloaded. */
  file?: string | undefined;
  log?: PolicyLog | undefined;
  /** Watch the file for changes (default true). */
  watch?: boolean | undefined;
  /** Stat poll interval, ms, behind the watcher (default 2000). */
  pollMs?: number | undefined;
  /** Changes closer together than this are read once, ms (default 100). */
  debounceMs?: number | undefined;
}

const hex = (bytes: Buffer): string => createHash('sha256').update(bytes).digest('hex');

/** Reads and compiles a policy file once; throws {@link PolicyFileError} naming key and line. */
export function readPolicyFile(file: string): Snapshot {
  const path = resolve(file);
  return compile(path, read(path));
}

function read(path: string): Buffer {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'error';
    throw new PolicyFileError(path, [
      { path: '', line: 1, column: 1, message: `cannot read the policy file (${code})` },
    ]);
  }
  return bytes;
}

function compile(path: string, bytes: Buffer): Snapshot {
  if (bytes.length > MAX_POLICY_BYTES) {
    throw new PolicyFileError(path, [
      { path: '', line: 1, column: 1, message: `larger than ${MAX_POLICY_BYTES} bytes` },
    ]);
  }
  return new Snapshot(parsePolicy(bytes.toString('utf8'), path), hex(bytes), path);
}

/** The policy of `file`, or the built-in one; read once, never watched (the CLI's view). */
export function policySnapshot(file: string | undefined): PolicySnapshot {
  return file === undefined ? builtinPolicy() : readPolicyFile(file);
}

/**
 * Opens the policy: the file is read and must be valid now (a bad file fails start-up, naming
 * the key and line); then it is watched. Without a file, the built-in policy.
 */
export function openPolicy(options: PolicyOptions = {}): Policy {
  const log: PolicyLog = options.log ?? (() => undefined);
  if (options.file === undefined) {
    const snapshot = builtinPolicy();
    return {
      current: () => snapshot,
      onReload: () => () => undefined,
      check: () => undefined,
      close: () => undefined,
    };
  }
  const path = resolve(options.file);
  const bytes = read(path);
  let current: Snapshot = compile(path, bytes);
  /** Digest of the bytes last looked at (good or bad), or `missing`: to report each once. */
  let seen = current.sha256;
  const listeners = new Set<(event: ReloadEvent) => void>();

  const emit = (event: ReloadEvent): ReloadEvent => {
    for (const l of listeners) {
      try {
        l(event);
      } catch (err) {
        log('error', { err }, 'policy reload listener failed');
      }
    }
    return event;
  };

  const check = (): ReloadEvent | undefined => {
    let next: Buffer;
    try {
      next = readFileSync(path);
    } catch (err) {
      if (seen === 'missing') return undefined;
      seen = 'missing';
      const code = (err as NodeJS.ErrnoException).code ?? 'error';
      const error = `cannot read the policy file (${code}); the policy in force stays`;
      log('error', { file: path, error }, 'policy reload refused');
      return emit({ ok: false, sha256: null, source: path, error, previousSha256: current.sha256 });
    }
    const sha256 = hex(next);
    if (sha256 === seen) return undefined;
    seen = sha256;
    // Back to the bytes in force (an invalid edit undone): nothing changes.
    if (sha256 === current.sha256) return undefined;
    const previousSha256 = current.sha256;
    try {
      current = compile(path, next);
    } catch (err) {
      if (!(err instanceof PolicyFileError)) throw err;
      log('error', { file: path, sha256, error: err.message }, 'policy reload refused');
      return emit({ ok: false, sha256, source: path, error: err.message, previousSha256 });
    }
    log('info', { file: path, sha256, previousSha256 }, 'policy reloaded');
    return emit({ ok: true, sha256, source: path, previousSha256 });
  };

  let timer: NodeJS.Timeout | undefined;
  const schedule = (): void => {
    if (timer !== undefined) clearTimeout(timer);
    timer = setTimeout(() => {
      timer = undefined;
      try {
        check();
      } catch (err) {
        log('error', { err, file: path }, 'policy reload failed');
      }
    }, options.debounceMs ?? 100);
    timer.unref();
  };

  let watcher: FSWatcher | undefined;
  let poller: NodeJS.Timeout | undefined;
  if (options.watch !== false) {
    const name = basename(path);
    try {
      watcher = watch(dirname(path), { persistent: false }, (_event, changed) => {
        if (changed === null || changed === name) schedule();
      });
      watcher.on('error', (err) => {
        log('warn', { err, file: path }, 'policy file watcher failed; polling only');
        watcher?.close();
        watcher = undefined;
      });
    } catch (err) {
      log('warn', { err, file: path }, 'cannot watch the policy file; polling only');
    }
    const signature = (): string => {
      try {
        const s = statSync(path);
        return `${s.ino}:${s.size}:${s.mtimeMs}`;
      } catch {
        return 'missing';
      }
    };
    let last = signature();
    poller = setInterval(() => {
      const now = signature();
      if (now !== last) {
        last = now;
        schedule();
      }
    }, options.pollMs ?? 2000);
    poller.unref();
  }

  return {
    current: () => current,
    onReload(listener) {
      listeners.add(listener);
      return () => {
        listeners.delete(listener);
      };
    },
    check,
    close() {
      watcher?.close();
      watcher = undefined;
      if (poller !== undefined) clearInterval(poller);
      if (timer !== undefined) clearTimeout(timer);
      listeners.clear();
    },
  };
}
