/**
 * @module bench/support/http-load — starts the load process (`load-client.ts`) and hands it one
 * job at a time. It inherits this process's Node flags (`--import tsx`, and `--cpu-prof` when
 * profiling, so the client gets a profile of its own).
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { LoopResult } from './clients.js';
import type { LoadJob, LoadReply } from './load-client.js';

/** A running load process. */
export interface LoadProcess {
  /** Runs `job`; resolves with the run and the load process's CPU time for it, µs. */
  run(job: LoadJob): Promise<{ result: LoopResult; cpuUs: number }>;
  /** Lets the load process exit (it writes its CPU profile, if any, on the way out). */
  close(): Promise<void>;
}

/** Forks the load process. */
export function startLoadProcess(): LoadProcess {
  const child: ChildProcess = fork(fileURLToPath(new URL('./load-client.ts', import.meta.url)), {
    execArgv: process.execArgv,
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const exited = new Promise<void>((resolve) => {
    child.once('exit', () => {
      resolve();
    });
  });
  return {
    run: (job) =>
      new Promise((resolve, reject) => {
        const onExit = () => {
          reject(new Error('the load process exited'));
        };
        child.once('exit', onExit);
        child.once('message', (reply: LoadReply) => {
          child.off('exit', onExit);
          if ('error' in reply) reject(new Error(`load process: ${reply.error}`));
          else resolve(reply);
        });
        child.send(job);
      }),
    close: async () => {
      if (child.connected) child.disconnect();
      await exited;
    },
  };
}
