/** @module policy/errors — a policy file that cannot be put in force, with where and why. */
import { GatewayError } from '../errors.js';

/** One problem in a policy file: the key path, its line and column (1-based), and why. */
export interface PolicyIssue {
  /** Dotted key path, e.g. `roles.developer.scopes[1]` (empty for the whole document). */
  path: string;
  line: number;
  column: number;
  message: string;
}

/** The policy file is invalid; the message names every key and line at fault. */
export class PolicyFileError extends GatewayError {
  readonly source: string;
  readonly issues: readonly PolicyIssue[];

  constructor(source: string, issues: readonly PolicyIssue[], options?: ErrorOptions) {
    const lines = issues.map(
      (i) => `${source}:${i.line}:${i.column}: ${i.path === '' ? '' : `${i.path}: `}${i.message}`,
    );
    super('POLICY_INVALID', `invalid policy file\n${lines.join('\n')}`, 500, options);
    this.source = source;
    this.issues = issues;
  }
}
