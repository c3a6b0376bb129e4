/**
 * @module registry/access — what a dataset's access list grants a caller. The policy's dataset
 * patterns decide first (scope `datasets:read|write` on `dataset:<name>`, http/authorize); this
 * is the second check both must pass. The dataset's owner holds `admin`; otherwise the highest
 * access among the entries naming the caller's subject (`sub:`, matched as written whatever the
 * issuer — with several trusted issuers whose subjects may collide, name clients or roles), its
 * client (`client:`) or one of its roles (`role:`).
 */
import type { DatasetAccess, DatasetRecord } from '../store/index.js';

/** The caller as the access list sees it (from its verified token). */
export interface DatasetCaller {
  readonly issuer: string;
  readonly subject: string;
  readonly clientId?: string | undefined;
  readonly roles: readonly string[];
}

const RANK: Readonly<Record<DatasetAccess, number>> = { read: 1, write: 2, admin: 3 };

/** The access `caller` holds on `dataset` by its access list and ownership; undefined: none. */
export function datasetAccess(
  caller: DatasetCaller,
  dataset: Pick<DatasetRecord, 'owner' | 'acl'>,
): DatasetAccess | undefined {
  if (dataset.owner.issuer === caller.issuer && dataset.owner.subject === caller.subject) {
    return 'admin';
  }
  let best: DatasetAccess | undefined;
  for (const { principal, access } of dataset.acl) {
    if (!names(principal, caller)) continue;
    if (best === undefined || RANK[access] > RANK[best]) best = access;
  }
  return best;
}

/** True when `held` is at least `needed`. */
export function grants(held: DatasetAccess | undefined, needed: DatasetAccess): boolean {
  return held !== undefined && RANK[held] >= RANK[needed];
}

function names(principal: string, caller: DatasetCaller): boolean {
  const colon = principal.indexOf(':');
  const kind = principal.slice(0, colon);
  const value = principal.slice(colon + 1);
  if (colon <= 0 || value === '') return false;
  if (kind === 'sub') return value === caller.subject;
  if (kind === 'client') return caller.clientId !== undefined && value === caller.clientId;
  if (kind === 'role') return caller.roles.includes(value);
  return false;
}

/** An access-list principal as the API accepts it: `sub:…`, `client:…` or `role:…`, ≤ 256. */
export const PRINCIPAL = /^(?:sub|client|role):[^\s\p{Cc}]{1,250}$/u;
