/**
 * @module registry/serving — what the registry asks of the inference area when a model version
 * goes live or is retired. Two-phase, so the store and what is served never disagree: the
 * registry service asks to `prepare` a version (load it from its artifact, verifying the file's
 * sha256 against the approved digest — a file replaced by hand is refused), only then records the
 * deployment in the store (a compare-and-set that may lose to a concurrent caller), and then
 * `commit`s the prepared version (new requests go to it at once; requests in flight finish on
 * the version they started on, which is freed when they have) or `abort`s it (freed, nothing
 * served changed). Implemented by inference/ (registry-serving.ts), wired in app.ts.
 */

/** One approved model version, as the inference area needs it to serve it. */
export interface ServingVersion {
  /** The model id requests name (`model` in the OpenAI API). */
  readonly model: string;
  /** The registry's version id (UUIDv7) and number. */
  readonly versionId: string;
  readonly version: number;
  /** A backend of config `models[].backend` (`tfjs`, `onnx`, `llama-cpp`, `echo`). */
  readonly backend: string;
  readonly task: string;
  /** The approved digest (lower-case hex) and size of the artifact. */
  readonly sha256: string;
  readonly size: number;
  /** Absolute path of the artifact's blob (for a folder artifact: its manifest's blob). */
  readonly artifactPath: string;
  /**
   * A folder artifact only: the absolute path of its materialized folder, every file in it
   * already verified against the approved manifest (./materialize). The backend loads this;
   * `artifactPath` is still verified against `sha256`.
   */
  readonly folder?: string | undefined;
  /** Load parameters (the backend's config keys: threads, contextSize, …), validated on load. */
  readonly params: Readonly<Record<string, unknown>>;
}

/** A loaded version waiting for the store to record its deployment. */
export interface PreparedVersion {
  /** Serve it from now on (synchronous: the swap cannot fail). */
  commit(): void;
  /** Free it; what is served does not change. */
  abort(): Promise<void>;
}

/** The inference side of deploy, rollback and retire. */
export interface RegistryServing {
  /**
   * Loads `version` beside what is served. Rejects (nothing changed) if the artifact is missing,
   * its sha256 is not `version.sha256`, the params are invalid or the backend fails to load it.
   */
  prepare(version: ServingVersion): Promise<PreparedVersion>;
  /** Stops serving `versionId` of `model` if it is the one served (in-flight requests finish). */
  retire(model: string, versionId: string): Promise<void>;
  /** The version served for `model` now (undefined: a config model, or none). */
  served(model: string): { versionId: string; version: number; sha256: string } | undefined;
}
