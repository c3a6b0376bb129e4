/**
 * @module test/helpers/replicas — N `gatehouse serve` processes with one config file (one data
 * dir, one store, one issuer), each on its own loopback port and its own audit chain
 * (`replica-0`, `replica-1`, …), started as a load balancer would see them: separate processes,
 * interchangeable. Traffic is spread round-robin; `cli()` runs the admin CLI against the same
 * config (so the same shared store and key file). Used by the scale-out and fault tests and the
 * scale benchmark.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

const ROOT = join(import.meta.dirname, '../..');
const MAIN = join(ROOT, 'src/cli/main.ts');
/** How the CLI is run: from source through tsx, as test/cli.test.ts does. */
export const CLI = ['--import', 'tsx', MAIN];
/** The issuer and audience every replica shares (tokens from one verify on all). */
export const ISSUER = 'http://gatehouse.replicas.test';

export interface ReplicasOptions {
  count: number;
  /** `store.url` (postgres://…); empty: SQLite in the shared data dir (one replica only!). */
  storeUrl: string;
  /** `store.schema` (a fresh one per test keeps runs apart). */
  schema?: string;
  /** `ratelimit.url` (redis://…). */
  ratelimitUrl?: string;
  /** `auth.revocationSyncInterval`, seconds (default 1). */
  syncInterval?: number;
  /** Top-level config sections, each replacing the helper's default for that section. */
  config?: Record<string, unknown>;
  /** Written as the shared policy file (`policy.file`). */
  policyText?: string;
  /** Extra environment of every replica and of `cli()`. */
  env?: Record<string, string>;
  /** Milliseconds to wait for every replica's `/readyz` (default 60 s). */
  readyTimeoutMs?: number;
  /** Pin replica i to core i mod the cores available (`taskset`; benchmarks). */
  pin?: boolean;
}

/** One running replica. */
export interface Replica {
  readonly url: string;
  readonly child: ChildProcess;
  /** Everything it printed so far (stdout and stderr). */
  output(): string;
  /** Whether the process is still running. */
  alive(): boolean;
}

/** What `cli()` returns. */
export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** The running replicas. */
export interface Replicas {
  readonly urls: readonly string[];
  readonly replicas: readonly Replica[];
  /** The shared directory: data dir, config file and policy file. */
  readonly dir: string;
  readonly configFile: string;
  readonly policyFile: string | undefined;
  /** The next replica's base URL, round-robin. */
  next(): string;
  /** `fetch` on the next replica. */
  fetch(path: string, init?: RequestInit): Promise<Response>;
  /** Runs `gatehouse <args> --config <shared config>`. */
  cli(args: readonly string[]): Promise<CliResult>;
  /** {@link eventually}, for convenience. */
  eventually: typeof eventually;
  close(): Promise<void>;
}

/** A free TCP port on 127.0.0.1 (bound and released; taken by the replica right after). */
export function freePort(): Promise<number> {
  const srv = createServer();
  return new Promise((resolve, reject) => {
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const a = srv.address();
      const port = typeof a === 'object' && a !== null ? a.port : 0;
      srv.close(() => {
        resolve(port);
      });
    });
  });
}

/**
 * Retries `fn` until it resolves (then returns its value) or `timeoutMs` passes (then rethrows
 * its last error): for effects that hold "within the sync interval", not at once.
 */
export async function eventually<T>(fn: () => Promise<T> | T, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await fn();
    } catch (err) {
      if (Date.now() >= deadline) throw err;
      await sleep(100);
    }
  }
}

/** The environment of a child: ours without GATEHOUSE_* (only the config file decides). */
function childEnv(extra: Record<string, string> | undefined): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('GATEHOUSE_')) env[k] = v;
  return { ...env, ...extra };
}

async function waitReady(replica: Replica, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (!replica.alive()) throw new Error(`replica ${replica.url} exited:\n${replica.output()}`);
    try {
      const res = await fetch(`${replica.url}/readyz`);
      if (res.status === 200) return;
    } catch {
      // Not listening yet.
    }
    if (Date.now() >= deadline) {
      throw new Error(`replica ${replica.url} not ready in time:\n${replica.output()}`);
    }
    await sleep(100);
  }
}

function stop(replica: Replica): Promise<void> {
  if (!replica.alive()) return Promise.resolve();
  return new Promise((resolve) => {
    const force = setTimeout(() => {
      replica.child.kill('SIGKILL');
    }, 15_000);
    replica.child.once('exit', () => {
      clearTimeout(force);
      resolve();
    });
    replica.child.kill('SIGTERM');
  });
}

/** Starts `count` replicas and resolves once every one answers `/readyz` with 200. */
export async function startReplicas(options: ReplicasOptions): Promise<Replicas> {
  const dir = mkdtempSync(join(tmpdir(), 'gh-replicas-'));
  const policyFile = options.policyText === undefined ? undefined : join(dir, 'policy.yaml');
  if (policyFile !== undefined) writeFileSync(policyFile, options.policyText ?? '');
  const config: Record<string, unknown> = {
    dataDir: join(dir, 'data'),
    log: { level: 'warn', access: false },
    store: {
      url: options.storeUrl,
      ...(options.schema === undefined ? {} : { schema: options.schema }),
    },
    auth: {
      issuer: ISSUER,
      audience: ISSUER,
      revocationSyncInterval: options.syncInterval ?? 1,
      keyActivationDelay: 0,
    },
    models: [{ id: 'echo', backend: 'echo' }],
    inference: { moderation: null, promptInjection: null },
    ...(options.ratelimitUrl === undefined ? {} : { ratelimit: { url: options.ratelimitUrl } }),
    ...(policyFile === undefined ? {} : { policy: { file: policyFile } }),
    ...options.config,
  };
  // YAML is a superset of JSON.
  const configFile = join(dir, 'gatehouse.yaml');
  writeFileSync(configFile, JSON.stringify(config, null, 2));
  const env = childEnv(options.env);

  const replicas: Replica[] = [];
  const started = async (i: number): Promise<Replica> => {
    const port = await freePort();
    const command = [process.execPath, ...CLI, 'serve', '--config', configFile];
    const pinned =
      options.pin === true ? ['taskset', '-c', String(i % availableParallelism())] : [];
    const [file = process.execPath, ...args] = [...pinned, ...command];
    const child = spawn(file, [...args, '--port', String(port)], {
      cwd: ROOT,
      env: { ...env, GATEHOUSE_AUDIT__REPLICA_ID: `replica-${String(i)}` },
    });
    let output = '';
    child.stdout.on('data', (c: Buffer) => (output += c.toString()));
    child.stderr.on('data', (c: Buffer) => (output += c.toString()));
    const replica: Replica = {
      url: `http://127.0.0.1:${String(port)}`,
      child,
      output: () => output,
      alive: () => child.exitCode === null && child.signalCode === null,
    };
    replicas.push(replica);
    return replica;
  };
  try {
    // The first one alone migrates the schema and creates the key file; then the others.
    const first = await started(0);
    await waitReady(first, options.readyTimeoutMs ?? 60_000);
    const rest = await Promise.all(
      Array.from({ length: options.count - 1 }, (_, i) => started(i + 1)),
    );
    await Promise.all(rest.map((r) => waitReady(r, options.readyTimeoutMs ?? 60_000)));
  } catch (err) {
    await Promise.all(replicas.map(stop));
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }

  let turn = 0;
  const urls = replicas.map((r) => r.url);
  const next = (): string => urls[turn++ % urls.length] ?? '';
  return {
    urls,
    replicas,
    dir,
    configFile,
    policyFile,
    next,
    fetch: (path, init) => fetch(`${next()}${path}`, init),
    eventually,
    cli: (args) =>
      new Promise((resolve) => {
        execFile(
          process.execPath,
          [...CLI, ...args, '--config', configFile],
          { cwd: ROOT, env, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 },
          (err, stdout, stderr) => {
            const code = err === null ? 0 : typeof err.code === 'number' ? err.code : 1;
            resolve({ code, stdout, stderr });
          },
        );
      }),
    close: async () => {
      await Promise.all(replicas.map(stop));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
