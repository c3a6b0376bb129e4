/**
 * @module test/support/model-spec — a ModelSpec as config would produce it: the given fields
 * over the schema's own defaults, so backend tests never restate (or drift from) them.
 */
import { modelSpec as schema } from '../../src/config/schema.js';
import type { ModelSpec } from '../../src/inference/types.js';

/** `fields` (at least `id` and `backend`) over the defaults of `models:` entries. */
export function modelSpec(
  fields: Pick<ModelSpec, 'id' | 'backend'> & Partial<ModelSpec>,
): ModelSpec {
  return schema.parse(fields);
}
