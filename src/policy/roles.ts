/**
 * @module policy/roles — built-in roles and the scopes each grants. A token never carries a scope
 * its roles do not grant; scopes are kept as small as the task needs.
 */

/** Every scope the server knows. */
export const SCOPES = [
  'inference:invoke',
  'models:read',
  'usage:read',
  'models:propose',
  'datasets:read',
  'datasets:write',
  'audit:read',
  'registry:read',
  'clients:admin',
  'keys:admin',
  'policy:admin',
  'models:approve',
  'models:deploy',
  'guard:inspect',
  'metrics:read',
] as const;

export type Scope = (typeof SCOPES)[number];

const developer: Scope[] = ['inference:invoke', 'models:read', 'usage:read'];

/** Built-in roles (DESIGN.md): developer, ml-engineer, auditor, admin. */
export const BUILTIN_ROLES: ReadonlyMap<string, readonly Scope[]> = new Map<
  string,
  readonly Scope[]
>([
  ['developer', developer],
  ['ml-engineer', [...developer, 'models:propose', 'datasets:read', 'datasets:write']],
  ['auditor', ['models:read', 'audit:read', 'registry:read', 'datasets:read']],
  [
    'admin',
    [
      'models:read',
      'usage:read',
      'registry:read',
      'clients:admin',
      'keys:admin',
      'policy:admin',
      'models:approve',
      'models:deploy',
      'guard:inspect',
      'metrics:read',
    ],
  ],
]);

/** True for a known role name. */
export function isRole(name: string): boolean {
  return BUILTIN_ROLES.has(name);
}

/** The union of scopes granted by `roles` (unknown roles grant nothing). */
export function scopesForRoles(roles: readonly string[]): Set<string> {
  const out = new Set<string>();
  for (const role of roles) for (const s of BUILTIN_ROLES.get(role) ?? []) out.add(s);
  return out;
}

/** Splits an RFC 6749 scope string; rejects anything but printable ASCII tokens (NQCHAR). */
export function parseScope(scope: string): string[] | undefined {
  if (scope === '') return [];
  const parts = scope.split(' ');
  for (const p of parts) if (!/^[\x21\x23-\x5B\x5D-\x7E]+$/.test(p)) return undefined;
  return [...new Set(parts)];
}
