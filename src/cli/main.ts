#!/usr/bin/env node
/** @module cli/main — the `gatehouse` executable: runs the command on this process's stdio. */
import { runCli } from './run.js';

runCli(process.argv.slice(2), {
  out: (line) => {
    process.stdout.write(`${line}\n`);
  },
  err: (line) => {
    process.stderr.write(`${line}\n`);
  },
}).then(
  (code) => {
    // A failure exits at once, whatever may still hold the event loop; success (e.g. a running
    // server) lets the process live on.
    if (code !== 0) process.exit(code);
  },
  (err: unknown) => {
    process.stderr.write(`gatehouse: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
