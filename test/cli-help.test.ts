/**
 * The `gatehouse` command's help and usage errors, run in-process (`runCli`): help on stdout
 * with exit 0 for every command and subcommand, `--version`, unknown commands and options
 * named with what is valid, and one `gatehouse: …` prefix on every error line.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../src/cli/run.js';

const dir = mkdtempSync(join(tmpdir(), 'gh-cli-help-'));

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

async function gatehouse(...args: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli(args, {
    out: (l) => out.push(l),
    err: (l) => err.push(l),
  });
  return { code, stdout: out.join('\n'), stderr: err.join('\n') };
}

/** The names listed under `commands:` in a help text. */
function listed(help: string): string[] {
  const section = help.split('commands:\n')[1]?.split('\n\n')[0] ?? '';
  return section
    .split('\n')
    .map((l) => l.trim().split(/\s+/)[0] ?? '')
    .filter(Boolean);
}

/** Every command path, found by walking the help texts from the top. */
async function allCommands(path: string[] = []): Promise<string[][]> {
  const help = await gatehouse(...path, '--help');
  const subs = listed(help.stdout);
  if (subs.length === 0) return [path];
  const below = await Promise.all(subs.map((s) => allCommands([...path, s])));
  return [...(path.length === 0 ? [] : [path]), ...below.flat()];
}

describe('gatehouse --help', () => {
  it('prints help on stdout with exit 0 for every command and subcommand', async () => {
    const paths = await allCommands();
    expect(paths.map((p) => p.join(' '))).toEqual([
      'serve',
      'clients',
      'clients create',
      'clients list',
      'clients update',
      'clients revoke',
      'token',
      'keys',
      'keys list',
      'keys rotate',
      'audit',
      'audit verify',
      'audit export',
      'audit purge',
      'receipt',
      'receipt verify',
      'models',
      'models list',
      'models pull',
      'models propose',
      'models approve',
      'models reject',
      'models deploy',
      'models rollback',
      'models retire',
      'models history',
      'datasets',
      'datasets purge',
    ]);
    for (const p of [[], ...paths]) {
      for (const flag of ['--help', '-h']) {
        const r = await gatehouse(...p, flag);
        expect(r, `gatehouse ${p.join(' ')} ${flag}`).toMatchObject({ code: 0, stderr: '' });
        expect(r.stdout).toMatch(new RegExp(`^usage: gatehouse ${p.join(' ')}`.trimEnd()));
      }
    }
  });

  it('documents each option of a leaf command, and --help wins over missing arguments', async () => {
    const r = await gatehouse('clients', 'create', '--help');
    expect(r.code).toBe(0);
    for (const opt of [
      '--name',
      '--roles',
      '--scopes',
      '--jwks',
      '--refresh',
      '--json',
      '--data-dir',
    ])
      expect(r.stdout).toContain(opt);
    expect(r.stdout).toContain('developer, ml-engineer, auditor, admin');
    const token = await gatehouse('token', '--help');
    for (const opt of ['--port', '--host', '--config', '--data-dir'])
      expect(token.stdout).toContain(opt);
  });

  it('prints the version from package.json', async () => {
    const { version } = JSON.parse(
      readFileSync(join(import.meta.dirname, '../package.json'), 'utf8'),
    ) as { version: string };
    for (const flag of ['--version', '-v'])
      expect(await gatehouse(flag)).toEqual({ code: 0, stdout: version, stderr: '' });
  });
});

describe('gatehouse usage errors', () => {
  it('names an unknown command and lists the commands (exit 2)', async () => {
    const r = await gatehouse('frobnicate');
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr.split('\n')).toEqual([
      'gatehouse: unknown command: frobnicate',
      "commands: serve, clients, token, keys, audit, receipt, models, datasets; see 'gatehouse --help'",
    ]);
    const sub = await gatehouse('clients', 'frob');
    expect(sub.code).toBe(2);
    expect(sub.stderr).toBe(
      "gatehouse: unknown command frob for 'gatehouse clients'; commands: create, list, update, revoke; " +
        "see 'gatehouse clients --help'",
    );
  });

  it('names an unknown option and the command it was given to', async () => {
    const r = await gatehouse('token', '--foo');
    expect(r).toEqual({
      code: 2,
      stdout: '',
      stderr: "gatehouse: unknown option --foo for 'gatehouse token'; see 'gatehouse token --help'",
    });
    const sub = await gatehouse('clients', 'create', '--nmae', 'x');
    expect(sub.stderr).toBe(
      "gatehouse: unknown option --nmae for 'gatehouse clients create'; " +
        "see 'gatehouse clients create --help'",
    );
    const missing = await gatehouse('token', '--roles');
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/^gatehouse: option --roles needs a value/);
  });

  it('lists the valid roles when one is unknown', async () => {
    const valid = 'valid roles: developer, ml-engineer, auditor, admin';
    const t = await gatehouse('token', '--roles', 'developer,superuser', '--data-dir', dir);
    expect(t).toMatchObject({ code: 2, stderr: `gatehouse: unknown role: superuser; ${valid}` });
    const c = await gatehouse(
      'clients',
      'create',
      '--name',
      'x',
      '--roles',
      'boss',
      '--data-dir',
      dir,
    );
    expect(c).toMatchObject({ code: 2, stderr: `gatehouse: unknown role: boss; ${valid}` });
  });

  it('never doubles the gatehouse: prefix, on any error path', async () => {
    const cases = [
      ['clients'], // missing subcommand
      ['clients', 'frob'], // unknown subcommand (once printed the usage after the prefix)
      ['keys', 'frob'],
      ['models', 'frob'],
      ['token', '--foo'], // ERR_PARSE_ARGS_UNKNOWN_OPTION
      ['token', '--json=1', '--roles', 'developer'], // ERR_PARSE_ARGS_INVALID_OPTION_VALUE
      ['keys', 'list', 'extra'], // ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL
      ['clients', 'revoke'], // UsageError
      ['clients', 'revoke', 'gh_nope', '--data-dir', dir], // GatewayError from the store
      ['serve', '--port', 'x'],
      ['keys', 'list', '--config', join(dir, 'missing.yaml')], // ConfigError
    ];
    for (const args of cases) {
      const r = await gatehouse(...args);
      expect(r.code, args.join(' ')).not.toBe(0);
      expect(r.stderr, args.join(' ')).toMatch(/^gatehouse: /);
      expect(r.stderr, args.join(' ')).not.toMatch(/gatehouse: gatehouse/);
    }
  });
});

describe('gatehouse clients create --jwks', () => {
  it.each([
    ['not JSON', '{', 'not valid JSON'],
    ['a JSON array', '[1, 2]', 'expected a JWK Set {"keys": […]} or one JWK'],
  ])('refuses a key file that is %s, naming the file', async (_what, text, message) => {
    const file = join(dir, `jwks-${String(text.length)}.json`);
    writeFileSync(file, text);
    const r = await gatehouse(
      'clients',
      'create',
      '--name',
      'k',
      '--roles',
      'developer',
      '--jwks',
      file,
      '--data-dir',
      dir,
    );
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(`gatehouse: --jwks ${file}: ${message}`);
  });
});
