#!/usr/bin/env node
/** @module cli/main — the `gatehouse` command: dispatches to one file per command. */
import { UsageError } from './context.js';

const COMMANDS: ReadonlyMap<
  string,
  () => Promise<{ run: (args: string[]) => Promise<void>; usage: string }>
> = new Map([
  ['serve', () => import('./commands/serve.js')],
  ['clients', () => import('./commands/clients.js')],
  ['token', () => import('./commands/token.js')],
  ['keys', () => import('./commands/keys.js')],
  ['models', () => import('./commands/models.js')],
]);

async function main(argv: string[]): Promise<number> {
  const [name, ...args] = argv;
  const load = name === undefined ? undefined : COMMANDS.get(name);
  if (load === undefined) {
    const usages = await Promise.all([...COMMANDS.values()].map(async (l) => (await l()).usage));
    process.stderr.write(`usage:\n${usages.join('\n')}\n`);
    return name === undefined || name === '--help' || name === '-h' ? 0 : 2;
  }
  const command = await load();
  if (args.includes('--help') || args.includes('-h')) {
    process.stdout.write(`${command.usage}\n`);
    return 0;
  }
  await command.run(args);
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code !== 0) process.exitCode = code;
  },
  (err: unknown) => {
    const usage =
      err instanceof UsageError ||
      (err instanceof TypeError && 'code' in err && String(err.code).startsWith('ERR_PARSE_ARGS'));
    // Expected failures print their message only; GatewayError messages never hold secrets.
    const message = err instanceof Error ? err.message : String(err);
    process.stderr.write(`gatehouse: ${message}\n`);
    process.exitCode = usage ? 2 : 1;
  },
);
