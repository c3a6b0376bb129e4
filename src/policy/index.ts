/** @module policy — roles, scopes, the policy file and decisions. */
export { BUILTIN_ROLES, SCOPES, isRole, parseScope, scopesForRoles, type Scope } from './roles.js';
export {
  CLIENTS_ADMIN_SCOPE,
  decideIntrospection,
  decideRevocation,
  type ClientPrincipal,
} from './decisions.js';
export type {
  AccessRequest,
  DataControls,
  InjectionControls,
  PhaseActions,
  Decision,
  Policy,
  PolicySnapshot,
  ReloadEvent,
  RequestDecision,
} from './types.js';
export { builtinPolicy, builtinPolicyText } from './builtin.js';
export { PolicyFileError, type PolicyIssue } from './errors.js';
export { parsePolicy } from './parse.js';
export { isResourceId } from './pattern.js';
export type { LimitSet, LimitsSpec, PolicyDocument } from './schema.js';
export { LABEL_NAME, limitsSpec } from './schema.js';
export {
  openPolicy,
  policySnapshot,
  readPolicyFile,
  type PolicyLog,
  type PolicyOptions,
} from './service.js';
