/**
 * @module cli/run — the `gatehouse` command without the process around it: finds the command,
 * prints help (stdout, exit 0) or runs it, and turns failures into one `gatehouse: …` line on
 * stderr (exit 2 for usage errors, 1 otherwise). Tests call `runCli` in-process.
 */
import { readFileSync } from 'node:fs';
import { helpOf, parse, UsageError, wantsHelp, word, type Command, type Io } from './command.js';

/** Top-level commands, loaded only when used. */
const COMMANDS: readonly { name: string; summary: string; load: () => Promise<Command> }[] = [
  {
    name: 'serve',
    summary: 'run the server',
    load: async () => (await import('./commands/serve.js')).command,
  },
  {
    name: 'clients',
    summary: 'register, list and revoke OAuth clients',
    load: async () => (await import('./commands/clients.js')).command,
  },
  {
    name: 'token',
    summary: 'mint a short-lived access token locally',
    load: async () => (await import('./commands/token.js')).command,
  },
  {
    name: 'keys',
    summary: 'list and rotate the signing keys',
    load: async () => (await import('./commands/keys.js')).command,
  },
  {
    name: 'audit',
    summary: 'verify, export and purge the tamper-evident audit log',
    load: async () => (await import('./commands/audit.js')).command,
  },
  {
    name: 'receipt',
    summary: 'verify signed receipts offline',
    load: async () => (await import('./commands/receipt.js')).command,
  },
  {
    name: 'models',
    summary: 'list and pull model files; propose, approve, deploy and trace registry versions',
    load: async () => (await import('./commands/models.js')).command,
  },
  {
    name: 'datasets',
    summary: 'purge deleted datasets past their retention',
    load: async () => (await import('./commands/datasets.js')).command,
  },
];

const NAMES = COMMANDS.map((c) => c.name).join(', ');

/** The version in package.json (two levels up from src/cli and dist/cli alike). */
export function version(): string {
  const file = new URL('../../package.json', import.meta.url);
  return (JSON.parse(readFileSync(file, 'utf8')) as { version: string }).version;
}

function topHelp(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  return [
    'usage: gatehouse <command> [options]',
    '',
    'Self-hosted AI inference server for CPU-only machines, with JWT identity built in.',
    '',
    'commands:',
    ...COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    'options:',
    '  -h, --help     show help (also after any command)',
    '  -v, --version  print the version',
    '',
    "Run 'gatehouse <command> --help' for a command's options.",
  ].join('\n');
}

/** Walks down groups to the command `args` name; runs it or prints its help. */
async function dispatch(command: Command, args: string[], io: Io): Promise<number> {
  if (command.kind === 'leaf') {
    if (wantsHelp(args)) {
      io.out(helpOf(command));
      return 0;
    }
    await command.run(parse(command, args), io);
    return 0;
  }
  const [sub, ...rest] = args;
  const subs = command.commands.map(word).join(', ');
  if (sub === undefined || sub === '--help' || sub === '-h') {
    if (sub === undefined) {
      io.err(`gatehouse: '${command.name}' needs a command: ${subs}`);
      io.err(helpOf(command));
      return 2;
    }
    io.out(helpOf(command));
    return 0;
  }
  const next = command.commands.find((c) => word(c) === sub);
  if (next === undefined) {
    const what = sub.startsWith('-') ? 'option' : 'command';
    throw new UsageError(
      `unknown ${what} ${sub} for '${command.name}'; commands: ${subs}; see '${command.name} --help'`,
    );
  }
  return dispatch(next, rest, io);
}

/** One line for a failure; messages never start with the program name (no doubled prefix). */
export function errorLine(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  return `gatehouse: ${message.replace(/^(gatehouse:\s*)+/, '')}`;
}

/** Runs `gatehouse …argv`; resolves with the exit code. */
export async function runCli(argv: readonly string[], io: Io): Promise<number> {
  const [name, ...args] = argv;
  if (name === undefined) {
    io.err(topHelp());
    return 2;
  }
  if (name === '--help' || name === '-h' || name === 'help') {
    io.out(topHelp());
    return 0;
  }
  if (name === '--version' || name === '-v' || name === '-V') {
    io.out(version());
    return 0;
  }
  const entry = COMMANDS.find((c) => c.name === name);
  if (entry === undefined) {
    io.err(`gatehouse: unknown ${name.startsWith('-') ? 'option' : 'command'}: ${name}`);
    io.err(`commands: ${NAMES}; see 'gatehouse --help'`);
    return 2;
  }
  try {
    return await dispatch(await entry.load(), args, io);
  } catch (err) {
    // Expected failures print their message only; GatewayError messages never hold secrets.
    io.err(errorLine(err));
    return err instanceof UsageError ? 2 : 1;
  }
}
