/**
 * @module policy/snapshot — one policy in force, compiled for the hot path. A decision is: the
 * token must carry the action's scope, and one of its roles must grant that scope (and, when the
 * request names a resource, match it with its `models` or `datasets` patterns). Deny by default.
 * Decisions are synchronous and cached per snapshot, keyed by roles + action + resource, in
 * bounded Maps (nested, so a hit builds no key string: ~40 ns); a reload builds a new snapshot,
 * so a policy change applies to the next request.
 */
import { compileCustomPatterns } from '../guard/detectors/custom.js';
import { foldTerm } from '../guard/terms.js';
import type { Detector } from '../guard/types.js';
import type { LimitSet, LimitsSpec, PolicyDocument } from './schema.js';
import { PatternSet } from './pattern.js';
import type {
  AccessRequest,
  DataControls,
  Decision,
  InjectionControls,
  PhaseActions,
  PolicySnapshot,
  RequestDecision,
} from './types.js';

interface CompiledRole {
  readonly scopes: ReadonlySet<string>;
  readonly models: PatternSet;
  readonly datasets: PatternSet;
}

/** Decisions (and granted-scope sets) kept per snapshot; the oldest go first beyond this. */
export const DECISION_CACHE_SIZE = 10_000;

const EMPTY: ReadonlySet<string> = new Set();
const NO_TERMS = Object.freeze({ deny: [], allow: [] });

const RATE_KEYS = [
  'requestsPerMinute',
  'tokensPerMinute',
  'tokensPerDay',
  'concurrentRequests',
] as const satisfies readonly (keyof LimitSet)[];

const NO_RATE_LIMITS: LimitsSpec = Object.freeze({ models: Object.freeze({}) });

/** Each budget of `sets` that every one of them sets, at its largest value. */
function mergeLimitSets(sets: readonly LimitSet[]): LimitSet {
  const out: { -readonly [K in keyof LimitSet]: LimitSet[K] } = {};
  for (const k of RATE_KEYS) {
    const values = sets.map((s) => s[k]);
    if (values.length > 0 && values.every((v) => v !== undefined)) out[k] = Math.max(...values);
  }
  return Object.freeze(out);
}

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
/** …each finding action, each injection action, each classifier setting. */
const ACTION_RANK = { block: 0, redact: 1, allow: 2 } as const;
const INJECTION_RANK = { block: 0, flag: 1, allow: 2 } as const;
const CLASSIFIER_RANK = { always: 0, uncertain: 1, never: 2 } as const;

type RoleControls = PolicyDocument['roles'][string]['dataControls'];

/** The strictest controls: a caller with no role the policy defines. */
const STRICTEST_PHASE: PhaseActions = Object.freeze({ default: 'redact', types: new Map() });
const STRICTEST_INJECTION: InjectionControls = Object.freeze({
  action: 'block',
  threshold: 0.5,
  classifier: 'uncertain',
});

function most<K extends string>(rank: Readonly<Record<K, number>>, a: K, b: K): K {
  return rank[b] > rank[a] ? b : a;
}

/** Per type, the most permissive action among `roles` (each role's own, else its default). */
function mergePhase(roles: readonly RoleControls[], phase: 'prompts' | 'outputs'): PhaseActions {
  if (roles.length === 0) return STRICTEST_PHASE;
  const own = roles.map((r) => ({ def: r[phase].default ?? 'redact', map: r[phase] }));
  let def: PhaseActions['default'] = 'block';
  for (const o of own) def = most(ACTION_RANK, def, o.def);
  const types = new Map<string, PhaseActions['default']>();
  const named = new Set(own.flatMap((o) => Object.keys(o.map).filter((k) => k !== 'default')));
  for (const type of named) {
    let a: PhaseActions['default'] = 'block';
    for (const o of own) a = most(ACTION_RANK, a, o.map[type] ?? o.def);
    if (a !== def) types.set(type, a);
  }
  return Object.freeze({ default: def, types });
}

function mergeInjection(roles: readonly RoleControls[]): InjectionControls {
  if (roles.length === 0) return STRICTEST_INJECTION;
  let action: InjectionControls['action'] = 'block';
  let classifier: InjectionControls['classifier'] = 'always';
  let threshold = 0;
  for (const { injection } of roles) {
    action = most(INJECTION_RANK, action, injection.action);
    classifier = most(CLASSIFIER_RANK, classifier, injection.classifier);
    threshold = Math.max(threshold, injection.threshold);
  }
  return Object.freeze({ action, threshold, classifier });
}

/** A term is denied only if every role denies it; a value allowed by any role is allowed. */
function mergeTerms(roles: readonly RoleControls[]): DataControls['terms'] {
  if (roles.length === 0) return Object.freeze({ deny: [], allow: [] });
  // Compared as the term detector compares them (case and compatibility folded).
  const [first, ...rest] = roles.map((r) => new Set(r.terms.deny.map(foldTerm)));
  const deny = [...(first ?? [])].filter((t) => rest.every((s) => s.has(t)));
  const allow = [...new Set(roles.flatMap((r) => r.terms.allow))];
  return Object.freeze({ deny, allow });
}

/** The label no model may be trained on unless `training.labels` names it. */
const RESTRICTED_LABEL = 'pii';

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
  readonly patterns: readonly Detector[];
  readonly #modelTerms: ReadonlyMap<string, { deny: string[]; allow: string[] }>;
  readonly #training: ReadonlyMap<string, PatternSet>;
  /** roles key → action → resource → decision: lookups that build no key string. */
  readonly #decisions = new Map<string, Map<string, Map<string, RequestDecision>>>();
  #decisionCount = 0;
  readonly #granted = new Map<string, ReadonlySet<string>>();
  readonly #controls = new Map<string, DataControls>();
  readonly #rateLimits = new Map<string, LimitsSpec>();
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
    // Checked when the file was parsed: this cannot throw for a parsed document.
    this.patterns = compileCustomPatterns(document.guard.patterns);
    this.#modelTerms = new Map(Object.entries(document.guard.models));
    this.#training = new Map(
      Object.entries(document.training.labels).map(([label, p]) => [label, new PatternSet(p)]),
    );
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
    const own = names.flatMap((n) => {
      const c = this.document.roles[n]?.dataControls;
      return c === undefined ? [] : [c];
    });
    return this.#remember(
      this.#controls,
      key,
      Object.freeze({
        systemMessages,
        ...limits,
        prompts: mergePhase(own, 'prompts'),
        outputs: mergePhase(own, 'outputs'),
        injection: mergeInjection(own),
        terms: mergeTerms(own),
        // Dry-run is the permissive side of a guard: any role's dry-run holds.
        dryRun: new Set(own.flatMap((c) => c.dryRun)),
      }),
    );
  }

  rateLimits(roles: readonly string[]): LimitsSpec {
    const key = this.#rolesKey(roles);
    if (key === '') return NO_RATE_LIMITS;
    const hit = this.#rateLimits.get(key);
    if (hit !== undefined) return hit;
    const specs = key.split(',').flatMap((n) => {
      const l = this.document.roles[n]?.limits;
      return l === undefined ? [] : [l];
    });
    const byPattern = new Map<string, LimitSet[]>();
    for (const s of specs)
      for (const [pattern, set] of Object.entries(s.models)) {
        const list = byPattern.get(pattern);
        if (list === undefined) byPattern.set(pattern, [set]);
        else list.push(set);
      }
    const models: Record<string, LimitSet> = {};
    for (const [pattern, sets] of byPattern) {
      // A role that does not name the pattern does not limit those models: it lifts the budget.
      if (sets.length < specs.length) continue;
      const merged = mergeLimitSets(sets);
      if (Object.keys(merged).length > 0) models[pattern] = merged;
    }
    return this.#remember(
      this.#rateLimits,
      key,
      Object.freeze({ ...mergeLimitSets(specs), models: Object.freeze(models) }),
    );
  }

  modelTerms(id: string): DataControls['terms'] {
    const own = this.#modelTerms.get(id);
    const all = this.#modelTerms.get('*');
    if (all === undefined) return own ?? NO_TERMS;
    if (own === undefined) return all;
    return { deny: [...all.deny, ...own.deny], allow: [...all.allow, ...own.allow] };
  }

  trainingUse(labels: readonly string[], model: string): Decision {
    for (const label of labels) {
      const allowed = this.#training.get(label);
      if (allowed === undefined) {
        if (label === RESTRICTED_LABEL) {
          return { allowed: false, reason: `denied: no model may be trained on ${label} data` };
        }
        continue;
      }
      if (!allowed.matches(model)) {
        return {
          allowed: false,
          reason: `denied: training.labels.${label} does not allow model ${model}`,
        };
      }
    }
    return { allowed: true, reason: 'allowed: the labels allow this model' };
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
