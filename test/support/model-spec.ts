/**
 * @module test/support/model-spec — a ModelSpec as config would produce it: the given fields
 * over the schema's own defaults, so backend tests never restate (or drift from) them.
 */
import { modelSpec as schema } from '../../src/config/schema.js';
import type { BackendName, ModelSpec, ModelSpecOf } from '../../src/inference/types.js';

function isOf<B extends BackendName>(spec: ModelSpec, backend: B): spec is ModelSpecOf<B> {
  return spec.backend === backend;
}

/** `fields` (at least `id` and `backend`) over the defaults of `models:` entries. */
export function modelSpec<B extends BackendName>(
  fields: { id: string; backend: B } & Partial<Omit<ModelSpecOf<B>, 'id' | 'backend'>>,
): ModelSpecOf<B> {
  const spec = schema.parse(fields);
  if (!isOf(spec, fields.backend)) throw new Error(`not a ${fields.backend} spec`);
  return spec;
}
