/**
 * @module config/load — builds the frozen config: defaults < gatehouse.yaml < GATEHOUSE_* env
 * < command-line overrides. This is the only module that reads `process.env`.
 */
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import type { z } from 'zod';
import { ConfigError } from '../errors.js';
import { configSchema, type ParsedConfig } from './schema.js';

/** The configuration every area receives: validated, with derived values filled in, frozen. */
export interface Config extends ParsedConfig {
  readonly auth: ParsedConfig['auth'] & { readonly issuer: string; readonly audience: string };
  readonly dataDir: string;
}

export interface LoadOptions {
  /** Path of a YAML file; when absent, `./gatehouse.yaml` is used if it exists. */
  file?: string | undefined;
  /** Environment to read GATEHOUSE_* from (default `process.env`). */
  env?: NodeJS.ProcessEnv;
  /** Highest-precedence values, e.g. from CLI flags. */
  overrides?: Record<string, unknown>;
}

type Tree = Record<string, unknown>;

function isTree(v: unknown): v is Tree {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function deepMerge(base: Tree, over: Tree): Tree {
  const out: Tree = { ...base };
  for (const [k, v] of Object.entries(over)) {
    if (k === '__proto__' || k === 'constructor' || k === 'prototype') continue;
    const cur = out[k];
    out[k] = isTree(cur) && isTree(v) ? deepMerge(cur, v) : v;
  }
  return out;
}

const camel = (s: string): string =>
  s.toLowerCase().replace(/_([a-z0-9])/g, (_m, c: string) => c.toUpperCase());

/**
 * GATEHOUSE_AUTH__ACCESS_TOKEN_TTL=300 → { auth: { accessTokenTtl: 300 } }. `__` separates
 * levels; values are parsed as JSON when they are valid JSON, else kept as strings.
 */
export function envToTree(env: NodeJS.ProcessEnv): Tree {
  const tree: Tree = {};
  for (const [name, raw] of Object.entries(env)) {
    if (!name.startsWith('GATEHOUSE_') || raw === undefined) continue;
    const path = name.slice('GATEHOUSE_'.length).split('__').map(camel);
    let value: unknown = raw;
    try {
      value = JSON.parse(raw);
    } catch {
      // A plain string.
    }
    // Secrets stay strings even if they look like JSON numbers.
    if (path.length === 1 && path[0] === 'masterKey') value = raw;
    let node = tree;
    for (const seg of path.slice(0, -1)) {
      const next = isTree(node[seg]) ? node[seg] : {};
      node[seg] = next;
      node = next;
    }
    const last = path.at(-1);
    if (last !== undefined) node[last] = value;
  }
  return tree;
}

function formatIssues(error: z.ZodError, source: string): string {
  return error.issues
    .map((i) => {
      const key = i.path.join('.');
      const extra =
        i.code === 'unrecognized_keys'
          ? ` (${i.keys.map((k) => [key, k].filter(Boolean).join('.')).join(', ')})`
          : '';
      return `${key || '<root>'}: ${i.message}${extra}`;
    })
    .map((line) => `  ${line} [${source}]`)
    .join('\n');
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null) {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

/** Parses and validates configuration from every source; throws ConfigError naming the key. */
export function loadConfig(options: LoadOptions = {}): Config {
  const env = options.env ?? process.env;
  let fromFile: Tree = {};
  const file = options.file ?? (existsSync('gatehouse.yaml') ? 'gatehouse.yaml' : undefined);
  if (file !== undefined) {
    let parsed: unknown;
    try {
      parsed = parseYaml(readFileSync(file, 'utf8'));
    } catch (err) {
      throw new ConfigError(`cannot read config file ${file}: ${(err as Error).message}`);
    }
    if (parsed !== null && parsed !== undefined && !isTree(parsed)) {
      throw new ConfigError(`config file ${file} must hold a mapping at the top level`);
    }
    fromFile = parsed ?? {};
    if ('masterKey' in fromFile) {
      throw new ConfigError('masterKey: must come from GATEHOUSE_MASTER_KEY, never from a file');
    }
  }
  const merged = deepMerge(deepMerge(fromFile, envToTree(env)), options.overrides ?? {});
  const result = configSchema.safeParse(merged);
  if (!result.success) {
    const source = file === undefined ? 'env/flags' : `${file}, env or flags`;
    throw new ConfigError(`invalid configuration:\n${formatIssues(result.error, source)}`);
  }
  const c = result.data;
  const hostForUrl = c.server.host.includes(':') ? `[${c.server.host}]` : c.server.host;
  const issuer = (c.auth.issuer ?? `http://${hostForUrl}:${c.server.port}`).replace(/\/+$/, '');
  return deepFreeze({
    ...c,
    dataDir: resolve(c.dataDir),
    auth: { ...c.auth, issuer, audience: c.auth.audience ?? issuer },
  });
}
