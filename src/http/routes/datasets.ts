/**
 * @module http/routes/datasets — the dataset API (README "Datasets"). The policy decides each
 * route's scope (`datasets:read|write`) on `dataset:<name>` first; the service then checks the
 * dataset's access list (403 `dataset-access`). Every response, refusals included, is an audit
 * event `dataset.<verb>` on `dataset:<name>` (`…@<sha256>` for a version). Versions arrive as a
 * streamed `application/octet-stream` body handed to the blob store unread: the parser for it
 * exists in this plugin only, and the store enforces `registry.maxBlobBytes` while streaming.
 * - `POST /v1/datasets` · `GET /v1/datasets` · `GET|PATCH|DELETE /v1/datasets/{name}`
 * - `PUT /v1/datasets/{name}/versions/{sha256}` · `GET /v1/datasets/{name}/versions`
 * - `GET /v1/datasets/{name}/versions/{sha256}/content` · `…/{sha256}/models` (lineage)
 */
import { PassThrough, Readable } from 'node:stream';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Policy } from '../../policy/index.js';
import { validName, type DatasetService } from '../../registry/index.js';
import type { DatasetAclEntry } from '../../store/index.js';
import {
  actorOf,
  datasetError,
  datasetView,
  etagHeader,
  ifMatch,
  trainedView,
  versionView,
} from './dataset-views.js';

interface NameParams {
  name: string;
}
interface VersionParams extends NameParams {
  sha256: string;
}
interface DatasetBody {
  name: string;
  labels?: string[];
  acl?: DatasetAclEntry[];
}
type PatchBody = Omit<DatasetBody, 'name'>;

const labels = { type: 'array', maxItems: 64, items: { type: 'string', maxLength: 64 } } as const;
const acl = {
  type: 'array',
  maxItems: 256,
  items: {
    type: 'object',
    required: ['principal', 'access'],
    additionalProperties: false,
    properties: {
      principal: { type: 'string', maxLength: 256 },
      access: { type: 'string', enum: ['read', 'write', 'admin'] },
    },
  },
} as const;
const createSchema = {
  body: {
    type: 'object',
    required: ['name'],
    additionalProperties: false,
    properties: { name: { type: 'string', maxLength: 256 }, labels, acl },
  },
} as const;
const patchSchema = {
  body: {
    type: 'object',
    minProperties: 1,
    additionalProperties: false,
    properties: { labels, acl },
  },
} as const;

/** `dataset:<name>` of the route's `:name` (400 `name-invalid` before the policy is asked). */
const byParam = (request: FastifyRequest) =>
  `dataset:${validName((request.params as NameParams).name)}`;
const DIGEST = /^[0-9a-f]{64}$/;
const read = { scope: 'datasets:read', resource: byParam };
const write = { scope: 'datasets:write', resource: byParam };

/** What a request acts on, for its audit event; set before the service is called. */
function audited(
  request: FastifyRequest,
  action: string,
  details: Record<string, unknown> = {},
): void {
  const { name, sha256 } = request.params as Partial<VersionParams>;
  const resource = name === undefined ? undefined : `dataset:${name}`;
  // Only a well-formed digest goes into the record (the route refuses any other with 400).
  const at = sha256 !== undefined && DIGEST.test(sha256) ? `@${sha256}` : '';
  request.audit = {
    action: `dataset.${action}`,
    ...(resource === undefined ? {} : { resource: `${resource}${at}` }),
    details: { method: request.method, ...details },
  };
}

/** Cancels an upload when its client goes away before the body is complete. */
function uploadSignal(request: FastifyRequest): AbortSignal {
  const ac = new AbortController();
  request.raw.once('close', () => {
    if (!request.raw.complete) ac.abort(new Error('the client went away'));
  });
  return ac.signal;
}

/** Registers the dataset routes in a plugin of their own (its body parser and error answers). */
export function datasetRoutes(
  app: FastifyInstance,
  datasets: DatasetService,
  policy: Policy,
  maxBlobBytes: number,
): void {
  void app.register((api, _opts, done) => {
    // Hand the body on unread: the blob store streams it to disk, checking digest and size.
    api.addContentTypeParser('application/octet-stream', (_req, payload, next) => {
      next(null, payload);
    });
    api.setErrorHandler(datasetError);
    routes(api, datasets, policy, maxBlobBytes);
    done();
  });
}

function routes(
  app: FastifyInstance,
  datasets: DatasetService,
  policy: Policy,
  maxBlobBytes: number,
): void {
  app.post<{ Body: DatasetBody }>(
    '/v1/datasets',
    {
      schema: createSchema,
      config: {
        scope: 'datasets:write',
        resource: (request) => `dataset:${validName((request.body as DatasetBody).name)}`,
      },
    },
    async (request, reply) => {
      const { name } = request.body;
      request.audit = { action: 'dataset.create', resource: `dataset:${name}` };
      const { record, versions } = await datasets.create(actorOf(request), request.body);
      request.audit.details = { etag: record.etag, labels: record.labels, acl: record.acl.length };
      return reply
        .code(201)
        .header('etag', etagHeader(record.etag))
        .send(datasetView(record, versions));
    },
  );

  app.get('/v1/datasets', { config: { scope: 'datasets:read' } }, async (request) => {
    audited(request, 'list');
    const who = request.identity;
    const snapshot = policy.current();
    // The same decision the route makes per dataset: the policy's patterns on each name.
    const scopes =
      who === undefined || who.unscoped ? snapshot.grantedScopes(who?.roles ?? []) : who.scopes;
    const allowed = (name: string) =>
      snapshot.decide({
        roles: who?.roles ?? [],
        scopes,
        action: 'datasets:read',
        resource: `dataset:${name}`,
      }).allowed;
    const list = await datasets.list(actorOf(request), allowed);
    request.audit = { ...request.audit, details: { method: 'GET', count: list.length } };
    return { object: 'list', data: list.map((d) => datasetView(d)) };
  });

  app.get<{ Params: NameParams }>(
    '/v1/datasets/:name',
    { config: read },
    async (request, reply) => {
      audited(request, 'read');
      const { record, versions } = await datasets.get(actorOf(request), request.params.name);
      return reply.header('etag', etagHeader(record.etag)).send(datasetView(record, versions));
    },
  );

  app.patch<{ Params: NameParams; Body: PatchBody }>(
    '/v1/datasets/:name',
    { schema: patchSchema, config: write },
    async (request, reply) => {
      const changes = Object.keys(request.body);
      audited(request, 'update', { changes });
      const ifEtag = ifMatch(request.headers['if-match']);
      const { record, versions } = await datasets.update(
        actorOf(request),
        request.params.name,
        ifEtag,
        request.body,
      );
      audited(request, 'update', { changes, from: ifEtag, etag: record.etag });
      return reply.header('etag', etagHeader(record.etag)).send(datasetView(record, versions));
    },
  );

  app.delete<{ Params: NameParams }>('/v1/datasets/:name', { config: write }, async (request) => {
    audited(request, 'delete');
    const record = await datasets.remove(
      actorOf(request),
      request.params.name,
      ifMatch(request.headers['if-match']),
    );
    return datasetView(record);
  });

  app.put<{ Params: VersionParams }>(
    '/v1/datasets/:name/versions/:sha256',
    { config: write, bodyLimit: maxBlobBytes },
    async (request, reply) => {
      audited(request, 'upload');
      // Piped, so the store stopping it unpipes the request instead of destroying its socket:
      // the refusal (403, 413, 400) still reaches the client.
      const source = request.body instanceof Readable ? request.body : Readable.from([]);
      const body = source.pipe(new PassThrough());
      const { record, created } = await datasets.addVersion(
        actorOf(request),
        request.params.name,
        request.params.sha256,
        body,
        uploadSignal(request),
      );
      audited(request, 'upload', { size: record.size, created });
      return reply.code(created ? 201 : 200).send(versionView(record));
    },
  );

  app.get<{ Params: NameParams }>(
    '/v1/datasets/:name/versions',
    { config: read },
    async (request) => {
      audited(request, 'versions');
      const list = await datasets.versions(actorOf(request), request.params.name);
      return { object: 'list', data: list.map(versionView) };
    },
  );

  app.get<{ Params: VersionParams }>(
    '/v1/datasets/:name/versions/:sha256/content',
    { config: read },
    async (request, reply) => {
      audited(request, 'download');
      const { info, stream } = await datasets.open(
        actorOf(request),
        request.params.name,
        request.params.sha256,
      );
      // Whatever happens to the response (a 503 from the audit stage, a client gone), the file
      // is closed with it.
      const file: NodeJS.ReadableStream & { destroy?: () => void } = stream;
      reply.raw.once('close', () => file.destroy?.());
      audited(request, 'download', { size: info.size });
      return reply
        .headers({
          'content-type': 'application/octet-stream',
          'content-length': String(info.size),
          etag: etagHeader(info.sha256),
          'cache-control': 'private, no-store',
        })
        .send(file);
    },
  );

  app.get<{ Params: VersionParams }>(
    '/v1/datasets/:name/versions/:sha256/models',
    { config: read },
    async (request) => {
      audited(request, 'lineage');
      const models = await datasets.modelsTrainedOn(
        actorOf(request),
        request.params.name,
        request.params.sha256,
      );
      return { object: 'list', data: models.map(trainedView) };
    },
  );
}
