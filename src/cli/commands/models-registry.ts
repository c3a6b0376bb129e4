/**
 * @module cli/commands/models-registry — `gatehouse models propose|approve|reject|deploy|
 * rollback|retire|history`: the model registry from the command line, against a running server
 * (`--url` and a token from `--token` or GATEHOUSE_TOKEN) or locally on the data dir (a token
 * minted with the local key for `--sub` and `--roles`; see cli/registry-api). The same API,
 * policy, two-person rule and audit log either way.
 */
import { realpath, stat } from 'node:fs/promises';
import { leaf, UsageError, type Input, type Io, type Leaf, type Options } from '../command.js';
import {
  CONFIG_OPTIONS,
  configFrom,
  HELP_OPTION,
  JSON_OPTION,
  list,
  policyFor,
} from '../context.js';
import { localApi, remoteApi, type ApiResponse, type RegistryApi } from '../registry-api.js';

const TARGET_OPTIONS = {
  url: {
    type: 'string',
    value: 'URL',
    help: 'a running server (http://host:port); default: work locally on the data dir',
  },
  token: {
    type: 'string',
    value: 'TOKEN',
    help: 'access token for --url (default $GATEHOUSE_TOKEN)',
  },
  sub: {
    type: 'string',
    value: 'SUBJECT',
    help: 'local only: the identity to act as (default local:$USER)',
  },
  roles: {
    type: 'string',
    value: 'r1,r2',
    help: 'local only: its roles (default: the role the command needs, e.g. admin)',
  },
  ...JSON_OPTION,
  ...CONFIG_OPTIONS,
  ...HELP_OPTION,
} as const satisfies Options;

type TargetValues = Input<typeof TARGET_OPTIONS>['values'];

/** The API the options name; `role` is the built-in role a local call defaults to. */
async function open(values: TargetValues, role: string): Promise<RegistryApi> {
  if (values.url !== undefined) {
    if (values.sub !== undefined || values.roles !== undefined)
      throw new UsageError('--sub and --roles are for local use; with --url the token says who');
    if (!/^https?:\/\/[^\s/]+/.test(values.url))
      throw new UsageError('--url must be http(s)://host[:port]');
    const token = values.token ?? process.env.GATEHOUSE_TOKEN;
    if (token === undefined || token === '')
      throw new UsageError('--url needs a token: --token TOKEN or GATEHOUSE_TOKEN');
    return remoteApi(values.url, token);
  }
  if (values.token !== undefined) throw new UsageError('--token needs --url');
  const config = configFrom(values);
  const policy = policyFor(config);
  const roles = values.roles === undefined ? [role] : list(values.roles);
  const unknown = roles.filter((r) => !policy.hasRole(r));
  if (unknown.length > 0) throw new UsageError(`unknown role(s): ${unknown.join(', ')}`);
  const { buildApp } = await import('../../app.js');
  return localApi(
    config,
    {
      subject: values.sub ?? `local:${process.env.USER ?? 'operator'}`,
      roles,
      scopes: [...policy.grantedScopes(roles)],
    },
    (c) => buildApp(c, {}, { waitForModels: false }),
  );
}

/** The body of a successful response; an error response becomes the failure it describes. */
function ok(res: ApiResponse): unknown {
  if (res.status >= 200 && res.status < 300) return res.body;
  const e = (res.body as { error?: { message?: unknown; code?: unknown } } | undefined)?.error;
  const code = typeof e?.code === 'string' ? ` ${e.code}` : '';
  const message = typeof e?.message === 'string' ? e.message : 'request failed';
  throw new Error(`${String(res.status)}${code}: ${message}`);
}

async function withApi<T>(
  values: TargetValues,
  role: string,
  fn: (api: RegistryApi) => Promise<T>,
) {
  const api = await open(values, role);
  try {
    return await fn(api);
  } finally {
    await api.close();
  }
}

const seg = (s: string): string => encodeURIComponent(s);

function versionNumber(raw: string | undefined): number {
  const n = Number(raw);
  if (raw === undefined || !/^[1-9][0-9]{0,8}$/.test(raw)) {
    throw new UsageError(`VERSION must be a version number (1, 2, …), not ${JSON.stringify(raw)}`);
  }
  return n;
}

function jsonOption(name: string, raw: string | undefined): Record<string, unknown> | undefined {
  if (raw === undefined) return undefined;
  let v: unknown;
  try {
    v = JSON.parse(raw);
  } catch {
    throw new UsageError(`--${name} must be a JSON object`);
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v))
    throw new UsageError(`--${name} must be a JSON object`);
  return v as Record<string, unknown>;
}

interface VersionView {
  model?: string;
  version?: number;
  status?: string;
  sha256?: string;
}

/** One line about a version (or the JSON). */
function printVersion(io: Io, json: boolean, body: unknown, verb: string): void {
  if (json) {
    io.out(JSON.stringify(body));
    return;
  }
  const v = body as VersionView;
  io.out(
    `${verb} ${v.model ?? '?'} version ${String(v.version ?? '?')}: ${v.status ?? '?'} (sha256 ${v.sha256 ?? '?'})`,
  );
}

/**
 * Uploads `--file`: a file as one blob, or a folder as a folder artifact (each file a blob, then
 * the manifest that lists them, whose digest is proposed). Returns the digest to propose.
 */
async function uploadArtifact(
  api: RegistryApi,
  io: Io,
  path: string,
  json: boolean,
): Promise<{ sha256: string; kind?: 'folder' }> {
  const { hashFile, hashFolder } = await import('../../registry/index.js');
  const isDir = await stat(path).then(
    (st) => st.isDirectory(),
    () => false,
  );
  if (!isDir) {
    const file = await hashFile(path);
    ok(await api.upload(`/v1/registry/blobs/${file.sha256}`, path, file.size));
    if (!json) io.err(`uploaded ${path}: sha256 ${file.sha256}, ${String(file.size)} bytes`);
    return { sha256: file.sha256 };
  }
  const folder = await hashFolder(await realpath(path));
  const fileOf = new Map(folder.found.map((f) => [f.path, f.file]));
  let bytes = 0;
  for (const f of folder.manifest.files) {
    ok(await api.upload(`/v1/registry/blobs/${f.sha256}`, fileOf.get(f.path) ?? '', f.size));
    bytes += f.size;
  }
  ok(await api.put(`/v1/registry/blobs/${folder.sha256}`, folder.bytes));
  if (!json)
    io.err(
      `uploaded folder ${path}: ${String(folder.manifest.files.length)} files, ${String(bytes)} bytes; manifest sha256 ${folder.sha256}`,
    );
  return { sha256: folder.sha256, kind: 'folder' };
}

const PROPOSE_OPTIONS = {
  backend: { type: 'string', value: 'B', help: 'tfjs | onnx | llama-cpp | echo (required)' },
  task: { type: 'string', value: 'T', help: 'embedding | classification | generation' },
  file: {
    type: 'string',
    value: 'FILE|DIR',
    help: 'artifact to upload (hashed, then streamed); a folder is uploaded file by file',
  },
  path: {
    type: 'string',
    value: 'PATH',
    help: 'artifact already on the server, under registry.allowedPaths',
  },
  sha256: {
    type: 'string',
    value: 'HEX',
    help: 'an uploaded blob, or the digest --path must have',
  },
  datasets: {
    type: 'string',
    value: 'NAME@SHA256,…',
    help: 'dataset versions it was trained on',
  },
  params: { type: 'string', value: 'JSON', help: 'load parameters, e.g. {"threads":1}' },
  metadata: { type: 'string', value: 'JSON', help: 'free-form facts (metrics, card)' },
  ...TARGET_OPTIONS,
} as const satisfies Options;

const propose = leaf({
  name: 'gatehouse models propose',
  summary: 'propose a new version of a model (needs models:propose)',
  synopsis: 'MODEL --backend B (--file FILE|DIR | --path PATH | --sha256 HEX) [options]',
  description:
    'With --file the artifact is hashed, uploaded to the blob store and proposed by digest.\n' +
    'A folder (a tfjs or ONNX model folder) becomes a folder artifact: each file is uploaded,\n' +
    'then the manifest listing them, and the manifest digest is proposed.\n' +
    'The version starts as proposed; another identity with models:approve must approve it.',
  options: PROPOSE_OPTIONS,
  positionals: { name: 'MODEL', min: 1, max: 1 },
  async run({ values, positionals }, io) {
    const model = positionals[0] ?? '';
    if (values.backend === undefined) throw new UsageError('--backend is required');
    const sources = [values.file, values.path].filter((s) => s !== undefined).length;
    if (sources > 1) throw new UsageError('give one of --file and --path');
    if (sources === 0 && values.sha256 === undefined)
      throw new UsageError('give the artifact: --file FILE, --path PATH or --sha256 HEX');
    if (values.file !== undefined && values.sha256 !== undefined)
      throw new UsageError('--file is hashed here: leave out --sha256');
    const datasets = list(values.datasets).map((d) => {
      const at = d.lastIndexOf('@');
      if (at <= 0 || at === d.length - 1)
        throw new UsageError(`--datasets: ${d} is not NAME@SHA256`);
      return { name: d.slice(0, at), digest: d.slice(at + 1) };
    });
    const params = jsonOption('params', values.params);
    const metadata = jsonOption('metadata', values.metadata);
    await withApi(values, 'ml-engineer', async (api) => {
      let sha256 = values.sha256;
      let kind: 'folder' | undefined;
      if (values.file !== undefined) {
        const uploaded = await uploadArtifact(api, io, values.file, values.json);
        sha256 = uploaded.sha256;
        kind = uploaded.kind;
      }
      const body = {
        backend: values.backend,
        ...(values.task === undefined ? {} : { task: values.task }),
        ...(sha256 === undefined ? {} : { sha256 }),
        ...(kind === undefined ? {} : { artifact_kind: kind }),
        ...(values.path === undefined ? {} : { path: values.path }),
        ...(datasets.length === 0 ? {} : { datasets }),
        ...(params === undefined ? {} : { params }),
        ...(metadata === undefined ? {} : { metadata }),
      };
      const res = ok(await api.call('POST', `/v1/registry/models/${seg(model)}/versions`, body));
      printVersion(io, values.json, res, 'proposed');
    });
  },
});

const REASON_OPTIONS = {
  reason: { type: 'string', value: 'TEXT', help: 'why (recorded with the change)' },
  ...TARGET_OPTIONS,
} as const satisfies Options;

/** approve / reject / retire: a status change of one version. */
function transition(verb: 'approve' | 'reject' | 'retire', summary: string, role: string): Leaf {
  return leaf({
    name: `gatehouse models ${verb}`,
    summary,
    synopsis: 'MODEL VERSION [--reason TEXT] [options]',
    options: REASON_OPTIONS,
    positionals: { name: 'MODEL VERSION', min: 2, max: 2 },
    async run({ values, positionals }, io) {
      const model = positionals[0] ?? '';
      const version = versionNumber(positionals[1]);
      await withApi(values, role, async (api) => {
        const res = ok(
          await api.call(
            'POST',
            `/v1/registry/models/${seg(model)}/versions/${String(version)}/${verb}`,
            values.reason === undefined ? {} : { reason: values.reason },
          ),
        );
        printVersion(io, values.json, res, verb === 'retire' ? 'retired' : `${verb}d`);
      });
    },
  });
}

/** One line about a deployment (or the JSON). */
function printDeployment(io: Io, json: boolean, body: unknown): void {
  if (json) {
    io.out(JSON.stringify(body));
    return;
  }
  const d = body as {
    model?: string;
    version?: number;
    previous_version?: number | null;
    kind?: string;
  };
  const from = d.previous_version == null ? 'none' : `version ${String(d.previous_version)}`;
  io.out(
    `${d.kind ?? 'deploy'} ${d.model ?? '?'}: version ${String(d.version ?? '?')} active (was ${from})`,
  );
}

const deploy = leaf({
  name: 'gatehouse models deploy',
  summary: 'make an approved version the active one (needs models:deploy)',
  synopsis: 'MODEL VERSION [options]',
  description:
    'Against a running server (--url) the switch is live: requests in flight finish on the old\n' +
    'version. Locally it is recorded in the store and served from the next start.',
  options: TARGET_OPTIONS,
  positionals: { name: 'MODEL VERSION', min: 2, max: 2 },
  async run({ values, positionals }, io) {
    const model = positionals[0] ?? '';
    const version = versionNumber(positionals[1]);
    await withApi(values, 'admin', async (api) => {
      const res = ok(
        await api.call('POST', `/v1/registry/models/${seg(model)}/deploy`, { version }),
      );
      printDeployment(io, values.json, res);
    });
  },
});

const rollback = leaf({
  name: 'gatehouse models rollback',
  summary: 'return to the version the last deployment replaced (needs models:deploy)',
  synopsis: 'MODEL [options]',
  options: TARGET_OPTIONS,
  positionals: { name: 'MODEL', min: 1, max: 1 },
  async run({ values, positionals }, io) {
    const model = positionals[0] ?? '';
    await withApi(values, 'admin', async (api) => {
      const res = ok(await api.call('POST', `/v1/registry/models/${seg(model)}/rollback`, {}));
      printDeployment(io, values.json, res);
    });
  },
});

interface Listed {
  data?: (VersionView & { proposed_by?: { subject?: string }; created_at?: string })[];
}
interface Transition {
  from?: string | null;
  to?: string;
  actor?: { subject?: string };
  reason?: string | null;
  at?: string;
}

const history = leaf({
  name: 'gatehouse models history',
  summary: "a model's versions, or one version's transitions and lineage (needs registry:read)",
  synopsis: 'MODEL [VERSION] [options]',
  options: TARGET_OPTIONS,
  positionals: { name: 'MODEL [VERSION]', min: 1, max: 2 },
  async run({ values, positionals }, io) {
    const model = positionals[0] ?? '';
    const raw = positionals[1];
    await withApi(values, 'auditor', async (api) => {
      const base = `/v1/registry/models/${seg(model)}`;
      if (raw === undefined) {
        const versions = ok(await api.call('GET', `${base}/versions`)) as Listed;
        const deployments = ok(await api.call('GET', `${base}/deployments`));
        if (values.json) {
          io.out(JSON.stringify({ versions, deployments }));
          return;
        }
        for (const v of versions.data ?? []) {
          io.out(
            `${String(v.version ?? '?').padStart(4)}  ${(v.status ?? '?').padEnd(8)}  ${v.sha256 ?? '?'}  ${v.proposed_by?.subject ?? '?'}  ${v.created_at ?? ''}`,
          );
        }
        return;
      }
      const version = versionNumber(raw);
      const one = ok(await api.call('GET', `${base}/versions/${String(version)}`));
      const moves = ok(await api.call('GET', `${base}/versions/${String(version)}/history`)) as {
        data?: Transition[];
      };
      const lineage = ok(await api.call('GET', `${base}/versions/${String(version)}/datasets`));
      if (values.json) {
        io.out(JSON.stringify({ version: one, history: moves, datasets: lineage }));
        return;
      }
      printVersion(io, false, one, 'version');
      for (const t of moves.data ?? []) {
        io.out(
          `  ${t.at ?? ''}  ${t.from ?? '—'} → ${t.to ?? '?'}  by ${t.actor?.subject ?? '?'}${t.reason == null ? '' : `: ${t.reason}`}`,
        );
      }
      for (const d of (lineage as { data?: { name?: string; digest?: string }[] }).data ?? []) {
        io.out(`  trained on ${d.name ?? '?'}@${d.digest ?? '?'}`);
      }
    });
  },
});

/** The registry subcommands of `gatehouse models`. */
export const registryCommands: readonly Leaf[] = [
  propose,
  transition(
    'approve',
    'approve a proposed version (models:approve; never your own proposal)',
    'admin',
  ),
  transition('reject', 'reject a proposed version (needs models:approve)', 'admin'),
  deploy,
  rollback,
  transition(
    'retire',
    'retire a version; retiring the active one stops serving it (models:deploy)',
    'admin',
  ),
  history,
];
