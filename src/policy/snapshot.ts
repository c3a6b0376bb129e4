/**
 * @module policy/snapshot — one policy in force, compiled for the hot path. A decision is: the
 * token must carry the action's scope, and one of its roles must grant that scope (and, when the
 * request names a resource, match it with its `models` or `datasets` patterns). Deny by default.
 * Decisions are synchronous and cached per snapshot, keyed by roles + action + resource, in
 * bounded Maps (nested, so a hit builds no key string: ~40 ns); a reload builds a new snapshot,
 * so a policy change applies to the next request.
 */
import type { PolicyDocument } from './schema.js';
import { PatternSet } from './pattern.js';
import type { AccessRequest, DataControls, PolicySnapshot, RequestDecision } from './types.js';

interface CompiledRole {
  readonly scopes: ReadonlySet<string>;
  readonly models: PatternSet;
  readonly datasets: PatternSet;
}

/** Decisions (and granted-scope sets) kept per snapshot; the oldest go first beyond this. */
export const DECISION_CACHE_SIZE = 10_000;

const EMPTY: ReadonlySet<string> = new Set();

const LIMIT_KEYS = [
  'maxMessages',
  'maxPromptTokens',
  'maxTokens',
  'maxInputs',
  'maxInputChars',
] as const;
type LimitKey = (typeof LIMIT_KEYS)[number];

/** How much each system-message setting lets through (the most permissive role wins). */
const PERMISSIVENESS = { refuse: 0, strip: 1, allow: 2 } as const;

/** `kind:id` split, for the two kinds of resource a policy names. */
function splitResource(resource: string): { kind: 'model' | 'dataset' | undefined; id: string } {
  const colon = resource.indexOf(':');
  const kind = resource.slice(0, colon);
  const id = resource.slice(colon + 1);
  return { kind: colon > 0 && (kind === 'model' || kind === 'dataset') ? kind : undefined, id };
}

const freeze = (
  allowed: boolean,
  reason: string,
  action: string,
  resource: string | undefined,
): RequestDecision => Object.freeze({ allowed, reason, action, resource });

/** A compiled, immutable policy. */
export class Snapshot implements PolicySnapshot {
  readonly sha256: string;
  readonly source: string;
  readonly document: PolicyDocument;
  readonly #roles: ReadonlyMap<string, CompiledRole>;
  /** roles key → action → resource → decision: lookups that build no key string. */
  readonly #decisions = new Map<string, Map<string, Map<string, RequestDecision>>>();
  #decisionCount = 0;
  readonly #granted = new Map<string, ReadonlySet<string>>();
  readonly #controls = new Map<string, DataControls>();
  readonly #cacheSize: number;

  constructor(
    document: PolicyDocument,
    sha256: string,
    source: string,
    cacheSize = DECISION_CACHE_SIZE,
  ) {
    this.document = document;
    this.sha256 = sha256;
    this.source = source;
    this.#cacheSize = cacheSize;
    // A Map, never the parsed object: role names come from tokens, i.e. from outside.
    this.#roles = new Map(
      Object.entries(document.roles).map(([name, r]) => [
        name,
        {
          scopes: new Set(r.scopes),
          models: new PatternSet(r.models),
          datasets: new PatternSet(r.datasets),
        },
      ]),
    );
  }

  hasRole(name: string): boolean {
    return this.#roles.has(name);
  }

  roleNames(): readonly string[] {
    return [...this.#roles.keys()];
  }

  /**
   * The cache key of `roles`: the known ones only, in order (unknown roles grant nothing, and
   * known names cannot contain the separator, so two different lists never share a key).
   */
  #rolesKey(roles: readonly string[]): string {
    if (roles.length === 1) {
      const only = roles[0] ?? '';
      return this.#roles.has(only) ? only : '';
    }
    let key = '';
    for (const r of roles) if (this.#roles.has(r)) key = key === '' ? r : `${key},${r}`;
    return key;
  }

  #remember<V>(cache: Map<string, V>, key: string, value: V): V {
    if (cache.size >= this.#cacheSize) {
      const oldest = cache.keys().next();
      if (oldest.done !== true) cache.delete(oldest.value);
    }
    cache.set(key, value);
    return value;
  }

  grantedScopes(roles: readonly string[]): ReadonlySet<string> {
    const key = this.#rolesKey(roles);
    if (key === '') return EMPTY;
    const hit = this.#granted.get(key);
    if (hit !== undefined) return hit;
    const out = new Set<string>();
    for (const name of key.split(','))
      for (const s of this.#roles.get(name)?.scopes ?? []) out.add(s);
    return this.#remember(this.#granted, key, out);
  }

  dataControls(roles: readonly string[]): DataControls {
    const key = this.#rolesKey(roles);
    const hit = this.#controls.get(key);
    if (hit !== undefined) return hit;
    let systemMessages: DataControls['systemMessages'] = 'refuse';
    const names = key === '' ? [] : key.split(',');
    const limits: Record<LimitKey, number | undefined> = {
      maxMessages: undefined,
      maxPromptTokens: undefined,
      maxTokens: undefined,
      maxInputs: undefined,
      maxInputChars: undefined,
    };
    for (const name of names) {
      const own = this.document.roles[name]?.dataControls;
      const sm = own?.systemMessages ?? 'refuse';
      if (PERMISSIVENESS[sm] > PERMISSIVENESS[systemMessages]) systemMessages = sm;
    }
    // A limit holds only if every role has one (the most permissive role wins): the largest.
    for (const k of LIMIT_KEYS) {
      const values = names.map((n) => this.document.roles[n]?.dataControls[k]);
      limits[k] =
        values.length === 0 || values.some((v) => v === undefined)
          ? undefined
          : Math.max(...(values as number[]));
    }
    return this.#remember(this.#controls, key, Object.freeze({ systemMessages, ...limits }));
  }

  decide(request: AccessRequest): RequestDecision {
    const { roles, scopes, action, resource } = request;
    // A token never widens its rights: without the scope, no role can help.
    if (!scopes.has(action)) {
      return freeze(false, `denied: token lacks scope ${action}`, action, resource);
    }
    const rolesKey = this.#rolesKey(roles);
    const resourceKey = resource ?? '';
    const byResource = this.#decisions.get(rolesKey)?.get(action);
    const hit = byResource?.get(resourceKey);
    if (hit !== undefined && hit.resource === resource) return hit;
    const decision = this.#decide(roles, action, resource);
    // Bounded: resources come from request bodies. Past the bound, start over (cheap, rare).
    if (this.#decisionCount >= this.#cacheSize) {
      this.#decisions.clear();
      this.#decisionCount = 0;
    }
    let byAction = this.#decisions.get(rolesKey);
    if (byAction === undefined)
      this.#decisions.set(rolesKey, (byAction = new Map<string, Map<string, RequestDecision>>()));
    let map = byAction.get(action);
    if (map === undefined) byAction.set(action, (map = new Map<string, RequestDecision>()));
    if (!map.has(resourceKey)) this.#decisionCount++;
    map.set(resourceKey, decision);
    return decision;
  }

  #decide(roles: readonly string[], action: string, resource: string | undefined): RequestDecision {
    const target = resource === undefined ? undefined : splitResource(resource);
    if (target?.kind === undefined && resource !== undefined) {
      return freeze(false, `denied: unknown resource kind in ${resource}`, action, resource);
    }
    for (const name of roles) {
      const role = this.#roles.get(name);
      if (!role?.scopes.has(action)) continue;
      if (target === undefined) {
        return freeze(true, `allowed: role ${name} grants ${action}`, action, resource);
      }
      const patterns = target.kind === 'model' ? role.models : role.datasets;
      if (patterns.matches(target.id)) {
        return freeze(
          true,
          `allowed: role ${name} grants ${action} on ${target.id}`,
          action,
          resource,
        );
      }
    }
    const on = target === undefined ? '' : ` on ${target.id}`;
    return freeze(false, `denied: no role grants ${action}${on}`, action, resource);
  }
}
