/**
 * @module bench/support/gateway-procs — starts the processes of `bench:gateway`, each pinned to a
 * core with `taskset -c` when it is available (Linux): the server under test and the load client,
 * both with an IPC channel. A server's stdout (its log) is read and counted, as a deployment's log
 * collector reading a pipe would.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { GatewayJob, GatewayReply } from './gateway-load.js';
import type { ServerMessage } from './bench-server.js';
import type { GatewayKind } from './gateway-server.js';

const hasTaskset = spawnSync('taskset', ['-c', '0', 'true']).status === 0;

/** Whether processes are pinned (taskset works here). */
export const pinned = hasTaskset;

function start(script: string, args: string[], core: number, execArgv: string[]): ChildProcess {
  const file = fileURLToPath(new URL(script, import.meta.url));
  const node = [...execArgv, '--import', 'tsx', file, ...args];
  const [cmd, argv] = hasTaskset
    ? ['taskset', ['-c', String(core), process.execPath, ...node]]
    : [process.execPath, node];
  return spawn(cmd, argv, { stdio: ['ignore', 'pipe', 'inherit', 'ipc'] });
}

function next<T>(child: ChildProcess, accept: (m: unknown) => T | undefined): Promise<T> {
  return new Promise((resolve, reject) => {
    const onExit = (code: number | null) => {
      reject(new Error(`process exited (${String(code)})`));
    };
    const onMessage = (m: unknown) => {
      const v = accept(m);
      if (v === undefined) return;
      child.off('message', onMessage);
      child.off('exit', onExit);
      resolve(v);
    };
    child.on('message', onMessage);
    child.once('exit', onExit);
  });
}

/** A running server under test. */
export interface ServerProc {
  readonly kind: GatewayKind;
  readonly base: string;
  readonly authorization: string;
  /** CPU time (user + system, all threads) the server has used so far, µs. */
  cpuUs(): Promise<number>;
  /** Bytes the server has written to stdout (its log) so far. */
  logBytes(): number;
  close(): Promise<void>;
}

/** Starts server `kind` on `core`; `execArgv` adds Node flags (e.g. --cpu-prof). */
export async function startServer(
  kind: GatewayKind,
  core: number,
  execArgv: string[] = [],
): Promise<ServerProc> {
  return { ...(await startScript('./gateway-server.ts', [kind], core, execArgv)), kind };
}

/**
 * Starts a server script of bench/support (it must speak `ServerMessage` over IPC) with `args`
 * on `core`.
 */
export async function startScript(
  script: string,
  args: string[],
  core: number,
  execArgv: string[] = [],
): Promise<Omit<ServerProc, 'kind'>> {
  const child = start(script, args, core, execArgv);
  let bytes = 0;
  child.stdout?.on('data', (b: Buffer) => (bytes += b.length));
  const ready = await next(child, (m) =>
    (m as ServerMessage).type === 'ready' ? (m as ServerMessage & { type: 'ready' }) : undefined,
  );
  const exited = new Promise<void>((resolve) =>
    child.once('exit', () => {
      resolve();
    }),
  );
  return {
    base: ready.base,
    authorization: ready.authorization,
    cpuUs: async () => {
      const p = next(child, (m) =>
        (m as ServerMessage).type === 'cpu' ? (m as ServerMessage & { type: 'cpu' }).us : undefined,
      );
      child.send({ type: 'cpu' });
      return p;
    },
    logBytes: () => bytes,
    close: async () => {
      if (child.connected) child.disconnect();
      await exited;
    },
  };
}

/** The running load process. */
export interface LoadProc {
  run(job: GatewayJob): Promise<Exclude<GatewayReply, { error: string }>>;
  close(): Promise<void>;
}

/** Starts the load client on `core`. */
export function startLoad(core: number): LoadProc {
  const child = start('./gateway-load.ts', [], core, []);
  const exited = new Promise<void>((resolve) =>
    child.once('exit', () => {
      resolve();
    }),
  );
  return {
    run: async (job) => {
      const p = next(child, (m) => m as GatewayReply);
      child.send(job);
      const reply = await p;
      if ('error' in reply) throw new Error(`load client: ${reply.error}`);
      return reply;
    },
    close: async () => {
      if (child.connected) child.disconnect();
      await exited;
    },
  };
}
