/** @module policy — roles, scopes and decisions. */
export { BUILTIN_ROLES, SCOPES, isRole, parseScope, scopesForRoles, type Scope } from './roles.js';
