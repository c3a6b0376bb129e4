/**
 * @module cli/command — what a CLI command is (a leaf with options, or a group of leaves), how
 * its arguments are parsed (`node:util` parseArgs, strict) and how its help is written. Parse
 * failures become UsageErrors that name the command and point at its `--help`.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';

/** Where a command writes: stdout lines (results) and stderr lines (notes, progress). */
export interface Io {
  readonly out: (line: string) => void;
  readonly err: (line: string) => void;
}

/** A usage error: printed without a stack, exit code 2. */
export class UsageError extends Error {}

/** One option: parseArgs' own fields plus its help. */
export interface OptionSpec {
  readonly type: 'string' | 'boolean';
  readonly short?: string;
  readonly default?: string | boolean;
  /** Placeholder shown in help, e.g. `N` for `--port N`. */
  readonly value?: string;
  readonly help: string;
}

export type Options = Readonly<Record<string, OptionSpec>>;

type Parsed<O extends Options> = ReturnType<
  typeof parseArgs<{ args: string[]; options: O; allowPositionals: true; strict: true }>
>;

/** What a leaf's `run` receives. */
export interface Input<O extends Options> {
  readonly values: Parsed<O>['values'];
  readonly positionals: readonly string[];
}

/** A command that does something. */
export interface Leaf<O extends Options = Options> {
  readonly kind: 'leaf';
  /** Full name, e.g. `gatehouse clients create`. */
  readonly name: string;
  /** One line for the parent's command list. */
  readonly summary: string;
  /** What follows the name in the usage line, e.g. `--name N --roles r1,r2 [options]`. */
  readonly synopsis: string;
  /** Longer help, printed under the usage line. */
  readonly description?: string;
  readonly options: O;
  /** Positional arguments, e.g. `{ name: 'CLIENT_ID', min: 1, max: 1 }`; none if absent. */
  readonly positionals?: { readonly name: string; readonly min: number; readonly max: number };
  run(input: Input<O>, io: Io): Promise<void>;
}

/** A command made of subcommands (`gatehouse clients create|list|revoke`). */
export interface Group {
  readonly kind: 'group';
  readonly name: string;
  readonly summary: string;
  readonly commands: readonly (Leaf | Group)[];
}

export type Command = Leaf | Group;

/** Declares a leaf with its option types inferred. */
export function leaf<const O extends Options>(spec: Omit<Leaf<O>, 'kind'>): Leaf {
  return { kind: 'leaf', ...spec } as unknown as Leaf;
}

/** The last word of a command's name (`create` for `gatehouse clients create`). */
export const word = (c: Command): string => c.name.split(' ').at(-1) ?? c.name;

const see = (name: string): string => `see '${name} --help'`;

/** Turns a parseArgs failure into a UsageError naming the command; others pass through. */
function usageFrom(name: string, options: Options, err: unknown): unknown {
  const code = err instanceof Error && 'code' in err ? String(err.code) : '';
  if (!code.startsWith('ERR_PARSE_ARGS')) return err;
  const quoted = /'([^']+)'/.exec((err as Error).message)?.[1] ?? '';
  const flag = quoted.split(' ')[0] ?? quoted;
  if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION')
    return new UsageError(`unknown option ${flag} for '${name}'; ${see(name)}`);
  if (code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL')
    return new UsageError(`unexpected argument '${quoted}' for '${name}'; ${see(name)}`);
  const spec = options[flag.replace(/^-+/, '')];
  const what =
    spec?.type === 'boolean' ? 'takes no value' : `needs a value (${flag} ${spec?.value ?? 'X'})`;
  return new UsageError(`option ${flag} ${what}; ${see(name)}`);
}

/** Parses a leaf's arguments strictly; checks the number of positionals. */
export function parse<O extends Options>(command: Leaf<O>, args: string[]): Input<O> {
  const config = {
    args,
    options: command.options,
    allowPositionals: command.positionals !== undefined,
    strict: true,
  } satisfies ParseArgsConfig;
  let parsed: Input<O>;
  try {
    parsed = parseArgs(config);
  } catch (err) {
    throw usageFrom(command.name, command.options, err);
  }
  const p = command.positionals;
  const n = parsed.positionals.length;
  if (p !== undefined && (n < p.min || n > p.max)) {
    const want = p.min === p.max ? `exactly one ${p.name}` : `${p.min}–${p.max} ${p.name}`;
    throw new UsageError(`'${command.name}' takes ${want}; ${see(command.name)}`);
  }
  return parsed;
}

/** Whether the arguments ask for help (before any `--`). */
export function wantsHelp(args: readonly string[]): boolean {
  const end = args.indexOf('--');
  const before = end === -1 ? args : args.slice(0, end);
  return before.includes('--help') || before.includes('-h');
}

function columns(rows: readonly (readonly [string, string])[]): string[] {
  const width = Math.max(0, ...rows.map(([a]) => a.length));
  return rows.map(([a, b]) => `  ${a.padEnd(width)}  ${b}`);
}

const sentence = (s: string): string => `${s.charAt(0).toUpperCase()}${s.slice(1)}.`;

/** The help text of a command. */
export function helpOf(command: Command): string {
  if (command.kind === 'group') {
    return [
      `usage: ${command.name} <command> [options]`,
      '',
      sentence(command.summary),
      '',
      'commands:',
      ...columns(command.commands.map((c) => [word(c), c.summary])),
      '',
      `Run '${command.name} <command> --help' for a command's options.`,
    ].join('\n');
  }
  const options = Object.entries(command.options).map(([name, o]): [string, string] => [
    `${o.short === undefined ? '' : `-${o.short}, `}--${name}${o.value === undefined ? '' : ` ${o.value}`}`,
    o.help,
  ]);
  return [
    `usage: ${command.name} ${command.synopsis}`.trimEnd(),
    '',
    `${sentence(command.summary)}${command.description === undefined ? '' : `\n${command.description}`}`,
    '',
    'options:',
    ...columns(options),
  ].join('\n');
}
