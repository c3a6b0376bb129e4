/**
 * @module http/framework-errors — the errors Fastify and Node raise below the routes (malformed
 * URL, unparsable or oversized body, wrong media type, schema validation, timeouts) as a status
 * and a sentence a person understands, so `http/errors` can answer them in the route's own shape
 * (OpenAI on `/v1/*`, RFC 6749 elsewhere) instead of Fastify's.
 */
import { STATUS_CODES } from 'node:http';
import { describeValidation, type Problem, type SchemaError } from './validation.js';

/** A client error Fastify raised, described. */
export interface FrameworkProblem extends Problem {
  status: number;
}

/** What this module reads of a Fastify error. */
interface FastifyLikeError {
  code?: unknown;
  statusCode?: unknown;
  validation?: unknown;
  validationContext?: unknown;
}

/** What this module reads of the request. */
export interface RequestFacts {
  body: unknown;
  contentType: string | undefined;
  bodyLimit: number;
}

/** `text/plain; charset=utf-8` → `text/plain`, or `none`; never more than a media-type token. */
function mediaType(header: string | undefined): string {
  const t = (header ?? '').split(';', 1)[0]?.trim().toLowerCase() ?? '';
  if (t === '') return 'none';
  return /^[\w.+-]{1,64}\/[\w.+-]{1,64}$/.test(t) ? t : 'an invalid media type';
}

/** The problem a Fastify client error stands for, or undefined if `err` is not one. */
export function frameworkProblem(err: unknown, req: RequestFacts): FrameworkProblem | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const e = err as FastifyLikeError;
  const status = typeof e.statusCode === 'number' ? e.statusCode : undefined;
  if (status === undefined || status < 400 || status >= 500) return undefined;
  const code = typeof e.code === 'string' ? e.code : '';
  const problem = (message: string, c: string, param: string | null = null): FrameworkProblem => ({
    status,
    message,
    param,
    code: c,
  });
  if (Array.isArray(e.validation)) {
    const where = e.validationContext === 'body' ? req.body : undefined;
    return { status: 400, ...describeValidation(e.validation as SchemaError[], where) };
  }
  switch (code) {
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return problem(
        `Content-Type must be application/json (got ${mediaType(req.contentType)})`,
        'unsupported_media_type',
      );
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return problem(
        `The request body must be at most ${req.bodyLimit} bytes`,
        'request_too_large',
      );
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      // The parser's message can quote the body: never pass it on.
      return problem('The request body is not valid JSON', 'invalid_json');
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return problem('The request body is empty; send a JSON object', 'invalid_json');
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return problem('Content-Length does not match the body sent', 'invalid_request');
    case 'FST_ERR_BAD_URL':
      return problem('The URL is malformed (invalid percent-encoding)', 'invalid_url');
    case 'FST_ERR_MAX_PARAM_LENGTH':
      return problem('A path segment of the URL is too long', 'invalid_url');
    case 'FST_ERR_NOT_FOUND':
      return problem('Not found', 'not_found');
    default:
      if (err instanceof SyntaxError)
        return problem('The request body is not valid JSON', 'invalid_json');
      return problem(STATUS_CODES[status] ?? 'Bad request', 'invalid_request');
  }
}
