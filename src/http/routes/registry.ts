/**
 * @module http/routes/registry — the model registry over HTTP (README "Model registry"): blobs
 * (`PUT|GET /v1/registry/blobs/{sha256}`, streamed both ways) and model versions under
 * `/v1/registry/models/{model}` (propose, list, approve, reject, retire, deploy, rollback,
 * history, deployments, lineage). Each route names its scope and `model:<model>` resource, so
 * the policy decides first; each sets its audit action `registry.<verb>` and resource
 * `model:<model>@<version>` (or `blob:<sha256>`), so every response, refused ones too, is an
 * audit event that says what was attempted.
 */
import type { FastifyInstance } from 'fastify';
import type { Policy } from '../../policy/index.js';
import type { ModelRegistry, Proposal } from '../../registry/index.js';
import { blobRoutes } from './registry-blobs.js';
import {
  audited,
  callerOf,
  modelResource,
  note,
  onModel,
  onVersion,
  type ModelParams,
} from './registry-facts.js';
import { deploymentView, list, transitionView, versionView } from './registry-views.js';
interface VersionParams extends ModelParams {
  n: string;
}
/** The propose body: a Proposal, its artifact's kind as `artifact_kind`. */
type ProposeBody = Omit<Proposal, 'kind'> & { artifact_kind?: 'file' | 'folder' };
interface ReasonBody {
  reason?: string;
}

const BASE = '/v1/registry/models/:model';
const VERSION = `${BASE}/versions/:n`;

const modelParams = {
  type: 'object',
  required: ['model'],
  properties: { model: { type: 'string' } },
} as const;
const versionParams = {
  type: 'object',
  required: ['model', 'n'],
  // A version number: 1, 2, …; anything else is 400, an unknown number 404.
  properties: { model: { type: 'string' }, n: { type: 'string', pattern: '^[1-9][0-9]{0,8}$' } },
} as const;
const reasonBody = {
  type: ['object', 'null'],
  additionalProperties: false,
  properties: { reason: { type: 'string', minLength: 1, maxLength: 1024 } },
} as const;
const jsonObject = { type: 'object', maxProperties: 256 } as const;
const proposeBody = {
  type: 'object',
  required: ['backend'],
  additionalProperties: false,
  properties: {
    backend: { type: 'string', minLength: 1, maxLength: 64 },
    task: { type: 'string', minLength: 1, maxLength: 64 },
    sha256: { type: 'string', maxLength: 64 },
    path: { type: 'string', minLength: 1, maxLength: 4096 },
    artifact_kind: { type: 'string', enum: ['file', 'folder'] },
    params: jsonObject,
    metadata: jsonObject,
    datasets: {
      type: 'array',
      maxItems: 64,
      items: {
        type: 'object',
        required: ['name', 'digest'],
        additionalProperties: false,
        properties: {
          name: { type: 'string', maxLength: 256 },
          digest: { type: 'string', maxLength: 64 },
        },
      },
    },
  },
} as const;
const deployBody = {
  type: 'object',
  required: ['version'],
  additionalProperties: false,
  properties: { version: { type: 'integer', minimum: 1, maximum: 999_999_999 } },
} as const;

/** The routes; `maxBlobBytes` (`registry.maxBlobBytes`) is each upload's body limit. */
export function registryRoutes(
  app: FastifyInstance,
  registry: ModelRegistry,
  policy: Policy,
  maxBlobBytes: number,
): void {
  blobRoutes(app, registry, policy, maxBlobBytes);
  versionRoutes(app, registry, policy);
}

function versionRoutes(app: FastifyInstance, registry: ModelRegistry, policy: Policy): void {
  const read = (action: string, on = onVersion) => ({
    config: { scope: 'registry:read', resource: modelResource },
    onRequest: audited(action, on),
  });

  app.get(
    '/v1/registry/models',
    { config: { scope: 'registry:read' }, onRequest: audited('registry.list', () => 'model:*') },
    async (request) => {
      // Only the models whose records the policy lets this caller read.
      const { roles, scopes } = callerOf(request, policy);
      const snapshot = policy.current();
      const readable = (model: string) =>
        snapshot.decide({ roles, scopes, action: 'registry:read', resource: `model:${model}` })
          .allowed;
      const models = (await registry.listModels()).filter((m) => readable(m.model));
      return list(models.map((m) => ({ model: m.model, active: m.active, versions: m.versions })));
    },
  );

  app.post<{ Params: ModelParams; Body: ProposeBody }>(
    `${BASE}/versions`,
    {
      schema: { params: modelParams, body: proposeBody },
      config: { scope: 'models:propose', resource: modelResource },
      onRequest: audited('registry.propose', onModel),
    },
    async (request, reply) => {
      const { artifact_kind: kind, ...rest } = request.body;
      const v = await registry.propose(callerOf(request, policy), request.params.model, {
        ...rest,
        ...(kind === undefined ? {} : { kind }),
      });
      note(request, `model:${v.model}@${String(v.version)}`, {
        id: v.id,
        sha256: v.artifactSha256,
        status: v.status,
        datasets: v.datasets,
      });
      void reply.code(201);
      return versionView(v);
    },
  );

  app.get<{ Params: ModelParams }>(
    `${BASE}/versions`,
    { schema: { params: modelParams }, ...read('registry.read', onModel) },
    async (request) => list((await registry.versions(request.params.model)).map(versionView)),
  );

  app.get<{ Params: VersionParams }>(
    VERSION,
    { schema: { params: versionParams }, ...read('registry.read') },
    async (request) =>
      versionView(await registry.version(request.params.model, Number(request.params.n))),
  );

  app.get<{ Params: VersionParams }>(
    `${VERSION}/history`,
    { schema: { params: versionParams }, ...read('registry.history') },
    async (request) => {
      const { model, n } = request.params;
      return list((await registry.history(model, Number(n))).map(transitionView));
    },
  );

  app.get<{ Params: VersionParams }>(
    `${VERSION}/datasets`,
    { schema: { params: versionParams }, ...read('registry.lineage') },
    async (request) => {
      const { model, n } = request.params;
      return list(await registry.datasets(model, Number(n)));
    },
  );

  app.get<{ Params: ModelParams }>(
    `${BASE}/deployments`,
    { schema: { params: modelParams }, ...read('registry.deployments', onModel) },
    async (request) => list((await registry.deployments(request.params.model)).map(deploymentView)),
  );

  const moves = [
    ['approve', 'models:approve', registry.approve.bind(registry)],
    ['reject', 'models:approve', registry.reject.bind(registry)],
    ['retire', 'models:deploy', registry.retire.bind(registry)],
  ] as const;
  for (const [verb, scope, move] of moves) {
    app.post<{ Params: VersionParams; Body: ReasonBody | null }>(
      `${VERSION}/${verb}`,
      {
        schema: { params: versionParams, body: reasonBody },
        config: { scope, resource: modelResource },
        onRequest: audited(`registry.${verb}`, onVersion),
      },
      async (request) => {
        const { model, n } = request.params;
        const reason = request.body?.reason ?? null;
        const v = await move(callerOf(request, policy), model, Number(n), reason);
        note(request, `model:${v.model}@${String(v.version)}`, {
          id: v.id,
          status: v.status,
          reason,
        });
        return versionView(v);
      },
    );
  }

  app.post<{ Params: ModelParams; Body: { version: number } }>(
    `${BASE}/deploy`,
    {
      schema: { params: modelParams, body: deployBody },
      config: { scope: 'models:deploy', resource: modelResource },
      onRequest: audited('registry.deploy', onModel),
    },
    async (request) => {
      const { model } = request.params;
      const { version } = request.body;
      note(request, `model:${model}@${String(version)}`, { version });
      const d = await registry.deploy(callerOf(request, policy), model, version);
      note(request, `model:${d.record.model}@${String(d.version)}`, {
        version: d.version,
        previous_version: d.previousVersion,
      });
      return deploymentView(d);
    },
  );

  app.post<{ Params: ModelParams }>(
    `${BASE}/rollback`,
    {
      schema: { params: modelParams },
      config: { scope: 'models:deploy', resource: modelResource },
      onRequest: audited('registry.rollback', onModel),
    },
    async (request) => {
      const d = await registry.rollback(callerOf(request, policy), request.params.model);
      note(request, `model:${d.record.model}@${String(d.version)}`, {
        version: d.version,
        previous_version: d.previousVersion,
      });
      return deploymentView(d);
    },
  );
}
