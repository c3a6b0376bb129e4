/** @module inference/errors — what can go wrong between a request and a model. */
import { GatewayError } from '../errors.js';

/** The model named in the request is not served here (404). */
export class ModelNotFoundError extends GatewayError {
  constructor(id: string) {
    super('MODEL_NOT_FOUND', `The model '${id}' does not exist or is not served here`, 404);
  }
}

/** The model exists but cannot take this request now (failed to load, draining): 503. */
export class ModelUnavailableError extends GatewayError {
  readonly retryAfter: number | undefined;
  /** The message names only the model: safe to show despite the 5xx status. */
  override readonly expose = true;

  constructor(message: string, retryAfter?: number) {
    super('MODEL_UNAVAILABLE', message, 503);
    this.retryAfter = retryAfter;
  }
}

/**
 * The model exists but does not do the job asked (chat on an embedding model, moderation with a
 * chat model): the request is wrong, retrying it cannot help, so 400 and not 503. The message
 * names what the model does and which models do the job (operator-chosen ids only).
 */
export class ModelTaskMismatchError extends GatewayError {
  constructor(id: string, serves: string, asked: string, candidates: readonly string[]) {
    const others =
      candidates.length === 0
        ? `no model here serves ${asked}`
        : `models for ${asked}: ${candidates.join(', ')}`;
    super(
      'MODEL_TASK_MISMATCH',
      `The model '${id}' serves ${serves}, not ${asked}; ${others}`,
      400,
    );
  }
}

/**
 * The client went away before its work ran; its queued work was dropped. Nobody reads the
 * answer (499, as nginx logs it); the code tells the log and the audit it was not a deadline.
 */
export class RequestCancelledError extends GatewayError {
  constructor() {
    super('REQUEST_CANCELLED', 'The client cancelled the request', 499);
  }
}

/** The model's queue is full: rejected at once instead of queueing without bound (429). */
export class OverloadedError extends GatewayError {
  readonly retryAfter: number;

  constructor(retryAfter = 1) {
    super('OVERLOADED', 'The model is busy; retry after the indicated delay', 429);
    this.retryAfter = retryAfter;
  }
}

/** The request's deadline passed before it finished (504). */
export class DeadlineError extends GatewayError {
  override readonly expose = true;

  constructor() {
    super('DEADLINE_EXCEEDED', 'The request took longer than its deadline', 504);
  }
}

/** The input is larger than the model accepts (413). */
export class PayloadTooLargeError extends GatewayError {
  constructor(message: string) {
    super('PAYLOAD_TOO_LARGE', message, 413);
  }
}

/**
 * A config model names a file without its `sha256` while `registry.requireDigest` holds: it is
 * not loaded (serving is pinned to approved digests). 500: an operator's error, not a client's.
 */
export class ModelUnpinnedError extends GatewayError {
  constructor(id: string) {
    super(
      'MODEL_UNPINNED',
      `model ${id} names a file without its sha256; set models[].sha256 (or registry.requireDigest: false to serve it unpinned)`,
      500,
    );
  }
}

/**
 * A registry version cannot be served as recorded: its load parameters fail the backend's config
 * schema, or its task is not one its backend serves (400: the message names the key).
 */
export class ModelParamsInvalidError extends GatewayError {
  constructor(message: string) {
    super('MODEL_PARAMS_INVALID', message, 400);
  }
}
