/** @module policy — roles, scopes and decisions. */
export { BUILTIN_ROLES, SCOPES, isRole, parseScope, scopesForRoles, type Scope } from './roles.js';
export {
  CLIENTS_ADMIN_SCOPE,
  decideIntrospection,
  decideRevocation,
  type ClientPrincipal,
  type Decision,
} from './decisions.js';
