/**
 * @module store/registry-rules — the status graph of model versions, and small helpers the SQL
 * backends share for registry records.
 */
import { randomBytes } from 'node:crypto';
import type { VersionStatus } from './registry-types.js';

/**
 * The status changes `RegistryStore.transition` makes. `active` is reached only through
 * `deploy`/`rollback` (which also move the replaced version from `active` back to `approved`), so
 * a model never has two active versions; `retired` and `rejected` are final.
 */
export const VERSION_TRANSITIONS: ReadonlyMap<VersionStatus, readonly VersionStatus[]> = new Map<
  VersionStatus,
  readonly VersionStatus[]
>([
  ['proposed', ['approved', 'rejected']],
  ['approved', ['retired', 'rejected']],
  ['active', ['retired']],
  ['retired', []],
  ['rejected', []],
]);

/** Whether `transition` may move a version from `from` to `to`. */
export function canTransition(from: VersionStatus, to: VersionStatus): boolean {
  return VERSION_TRANSITIONS.get(from)?.includes(to) ?? false;
}

/** A UUIDv7 (RFC 9562): 48 bits of `now` (epoch ms), then random bits; sorts by creation time. */
export function uuidv7(now: number): string {
  const b = randomBytes(16);
  b.writeUIntBE(Math.max(0, Math.trunc(now)) % 2 ** 48, 0, 6);
  b[6] = 0x70 | ((b[6] ?? 0) & 0x0f);
  b[8] = 0x80 | ((b[8] ?? 0) & 0x3f);
  const h = b.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}
