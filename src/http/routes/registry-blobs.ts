/**
 * @module http/routes/registry-blobs — `PUT /v1/registry/blobs/{sha256}` (`models:propose`):
 * the raw `application/octet-stream` body streamed into the blob store, never buffered, within
 * `registry.maxBlobBytes` (not `server.bodyLimit`); and `GET /v1/registry/blobs/{sha256}`
 * (`registry:read`): the artifact of a model version (or a file of a folder artifact), streamed,
 * under that model's policy.
 */
import { PassThrough } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { BadRequestError } from '../../errors.js';
import type { Policy } from '../../policy/index.js';
import type { BlobBody, ModelRegistry } from '../../registry/index.js';
import { InsufficientScopeError } from '../errors.js';
import { audited, callerOf, note, onBlob } from './registry-facts.js';

/**
 * The request body as a stream the blob store may stop (it destroys what it stops) without
 * destroying the request, which must still carry the answer (413, 400). Fails when the request
 * does: a client gone mid-upload leaves nothing behind.
 */
function detached(source: NodeJS.ReadableStream): BlobBody {
  const body = new PassThrough();
  const fail = (err?: Error) => {
    body.destroy(err ?? new Error('the request ended before its body did'));
  };
  source.once('error', fail);
  source.once('aborted', () => {
    fail();
  });
  body.once('close', () => {
    source.off('error', fail);
  });
  source.pipe(body);
  return body;
}

/** The blob routes, in a context of their own: it accepts octet-stream bodies and nothing else. */
export function blobRoutes(
  app: FastifyInstance,
  registry: ModelRegistry,
  policy: Policy,
  maxBlobBytes: number,
): void {
  void app.register((blobs, _opts, done) => {
    blobs.removeAllContentTypeParsers();
    blobs.addContentTypeParser('application/octet-stream', (_req, payload, next) => {
      next(null, payload);
    });
    // A body left unread (refused: 401, 403, 413, 400) is not drained: the connection ends
    // after the answer, so a refused upload costs no more than what was already sent.
    blobs.addHook('onSend', (request, reply, payload, done) => {
      if (!request.raw.complete) void reply.header('connection', 'close');
      done(null, payload);
    });
    routes(blobs, registry, policy, maxBlobBytes);
    done();
  });
}

function routes(
  app: FastifyInstance,
  registry: ModelRegistry,
  policy: Policy,
  maxBlobBytes: number,
): void {
  app.put<{ Params: { sha256: string } }>(
    '/v1/registry/blobs/:sha256',
    {
      bodyLimit: maxBlobBytes,
      config: { scope: 'models:propose' },
      onRequest: audited('registry.blob_upload', onBlob),
    },
    async (request, reply) => {
      const body = request.body as NodeJS.ReadableStream | undefined;
      if (body === undefined) {
        throw new BadRequestError('Send the blob as the request body (application/octet-stream)');
      }
      const put = await registry.putBlob(request.params.sha256, detached(body));
      note(request, `blob:${put.sha256}`, {
        sha256: put.sha256,
        size: put.size,
        created: put.created,
      });
      void reply.code(put.created ? 201 : 200);
      return { object: 'registry.blob', sha256: put.sha256, size: put.size, created: put.created };
    },
  );

  app.get<{ Params: { sha256: string } }>(
    '/v1/registry/blobs/:sha256',
    { config: { scope: 'registry:read' }, onRequest: audited('registry.blob_download', onBlob) },
    async (request, reply) => {
      const versions = await registry.artifactVersions(request.params.sha256);
      // The models' own patterns apply to their artifact as to their records: the caller must
      // be allowed to read one of the models it belongs to.
      const snapshot = policy.current();
      const { roles, scopes } = callerOf(request, policy);
      const decide = (model: string) =>
        snapshot.decide({ roles, scopes, action: 'registry:read', resource: `model:${model}` });
      const version = versions.find((v) => decide(v.model).allowed);
      if (version === undefined) {
        request.decision = decide(versions[0]?.model ?? '');
        throw new InsufficientScopeError('registry:read');
      }
      request.decision = decide(version.model);
      const { info, stream } = await registry.openArtifact(version, request.params.sha256);
      note(request, `model:${version.model}@${String(version.version)}`, {
        sha256: info.sha256,
        size: info.size,
      });
      return reply
        .type('application/octet-stream')
        .header('content-length', info.size)
        .header('etag', `"${info.sha256}"`)
        .send(stream);
    },
  );
}
