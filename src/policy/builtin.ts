/**
 * @module policy/builtin — the policy in force when no file is configured: the four roles of
 * DESIGN.md with their scopes (policy/roles); every role may act on every model its scopes allow
 * (inference for developer and ml-engineer, the registry for ml-engineer, auditor and admin),
 * ml-engineer and auditor on every dataset their scopes allow. Written out as YAML — the
 * text a policy file would hold — so it is parsed and digested exactly like a file.
 */
import { createHash } from 'node:crypto';
import { stringify } from 'yaml';
import { parsePolicy } from './parse.js';
import { BUILTIN_ROLES } from './roles.js';
import type { PolicyInput } from './schema.js';
import { Snapshot } from './snapshot.js';

/** Model patterns: for inference (developer, ml-engineer) and the registry scopes (all four). */
const MODELS = new Map<string, string[]>([
  ['developer', ['*']],
  ['ml-engineer', ['*']],
  ['auditor', ['*']],
  ['admin', ['*']],
]);
/** The roles that run models send system messages (as every OpenAI client may). */
const SYSTEM_MESSAGES = new Map<string, 'allow' | 'strip' | 'refuse'>([
  ['developer', 'allow'],
  ['ml-engineer', 'allow'],
]);
const DATASETS = new Map<string, string[]>([
  ['ml-engineer', ['*']],
  ['auditor', ['*']],
]);

/** The built-in policy as a policy file's text (YAML). */
export function builtinPolicyText(): string {
  const roles: PolicyInput['roles'] = {};
  for (const [name, scopes] of BUILTIN_ROLES) {
    roles[name] = {
      scopes: [...scopes],
      models: MODELS.get(name) ?? [],
      datasets: DATASETS.get(name) ?? [],
      limits: {},
      dataControls: { systemMessages: SYSTEM_MESSAGES.get(name) ?? 'refuse' },
    };
  }
  return stringify({ version: 1, roles } satisfies PolicyInput, { flowCollectionPadding: false });
}

let builtin: Snapshot | undefined;

/** The built-in policy, compiled once (`source` is `builtin`). */
export function builtinPolicy(): Snapshot {
  if (builtin === undefined) {
    const text = builtinPolicyText();
    const sha256 = createHash('sha256').update(text, 'utf8').digest('hex');
    builtin = new Snapshot(parsePolicy(text, 'builtin'), sha256, 'builtin');
  }
  return builtin;
}
