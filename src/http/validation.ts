/**
 * @module http/validation — turns the JSON-schema errors Fastify's validator reports into one
 * sentence a person understands: which field (`param`, e.g. `messages[0].content`), what was
 * expected, and the limit with the value that broke it ("input must have at most 2048 items (got
 * 2049)"). For `anyOf` (a string or an array) it reports the branch the client meant — the one
 * whose type matched — instead of every branch. Values sent by the client are never echoed,
 * only their type, length or number.
 */

/** The fields of an Ajv error this module reads. */
export interface SchemaError {
  keyword: string;
  instancePath: string;
  schemaPath: string;
  params: Record<string, unknown>;
  message?: string | undefined;
}

/** A refused request, described. */
export interface Problem {
  message: string;
  /** The offending field as a path (`messages[0].role`), or null for the whole body. */
  param: string | null;
  /** OpenAI-style code: missing_required_parameter, unknown_parameter, invalid_type, invalid_value. */
  code: string;
}

/** `/messages/0/content` → `['messages', '0', 'content']` (RFC 6901 unescaped). */
function segments(pointer: string): string[] {
  if (pointer === '') return [];
  return pointer
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
}

function pathOf(parts: readonly string[]): string {
  let out = '';
  for (const p of parts) out += /^\d+$/.test(p) ? `[${p}]` : out === '' ? p : `.${p}`;
  return out;
}

function valueAt(data: unknown, parts: readonly string[]): unknown {
  let v = data;
  for (const p of parts) {
    if (typeof v !== 'object' || v === null) return undefined;
    v = Object.hasOwn(v, p) ? (v as Record<string, unknown>)[p] : undefined;
  }
  return v;
}

const ARTICLE: Record<string, string> = {
  string: 'a string',
  number: 'a number',
  integer: 'an integer',
  boolean: 'a boolean',
  object: 'an object',
  array: 'an array',
  null: 'null',
};

const nameOfType = (t: string): string => ARTICLE[t] ?? t;

/** The JSON type of a parsed value, as the schema would name it. */
function jsonType(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  return typeof v;
}

function oneOfList(items: readonly string[]): string {
  if (items.length <= 1) return items.join('');
  return `${items.slice(0, -1).join(', ')} or ${items.at(-1) ?? ''}`;
}

const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;

/** Describes one leaf error (any keyword but anyOf). */
function describeLeaf(e: SchemaError, data: unknown): Problem {
  const parts = segments(e.instancePath);
  const where = pathOf(parts);
  const subject = where === '' ? 'The request body' : where;
  const value = valueAt(data, parts);
  const p = e.params;
  const limit = Number(p.limit);
  const invalid = (message: string): Problem => ({
    message,
    param: where === '' ? null : where,
    code: 'invalid_value',
  });
  switch (e.keyword) {
    case 'required': {
      const field = pathOf([...parts, String(p.missingProperty)]);
      return {
        message: `Missing required parameter: '${field}'`,
        param: field,
        code: 'missing_required_parameter',
      };
    }
    case 'additionalProperties': {
      const field = pathOf([...parts, String(p.additionalProperty)]);
      return {
        message: `Unrecognized request argument supplied: '${field}'`,
        param: field,
        code: 'unknown_parameter',
      };
    }
    case 'type': {
      const types = (Array.isArray(p.type) ? p.type : [p.type]).map(String).map(nameOfType);
      return {
        message: `${subject} must be ${oneOfList(types)} (got ${nameOfType(jsonType(value))})`,
        param: where === '' ? null : where,
        code: 'invalid_type',
      };
    }
    case 'maxItems':
    case 'minItems': {
      const n = Array.isArray(value) ? value.length : Number.NaN;
      const bound = e.keyword === 'maxItems' ? 'at most' : 'at least';
      return invalid(`${subject} must have ${bound} ${plural(limit, 'item')} (got ${n})`);
    }
    case 'maxLength':
    case 'minLength': {
      const n = typeof value === 'string' ? value.length : Number.NaN;
      if (e.keyword === 'minLength' && limit === 1) return invalid(`${subject} must not be empty`);
      const bound = e.keyword === 'maxLength' ? 'at most' : 'at least';
      return invalid(`${subject} must be ${bound} ${plural(limit, 'character')} long (got ${n})`);
    }
    case 'maximum':
    case 'minimum':
    case 'exclusiveMaximum':
    case 'exclusiveMinimum': {
      const comparison = String(p.comparison);
      const words: Record<string, string> = {
        '<=': 'at most',
        '>=': 'at least',
        '<': 'less than',
        '>': 'greater than',
      };
      const got = typeof value === 'number' ? ` (got ${value})` : '';
      return invalid(`${subject} must be ${words[comparison] ?? comparison} ${limit}${got}`);
    }
    case 'enum': {
      const allowed = Array.isArray(p.allowedValues) ? p.allowedValues : [];
      return invalid(
        `${subject} must be one of ${oneOfList(allowed.map((a) => JSON.stringify(a)))}`,
      );
    }
    case 'const':
      return invalid(`${subject} must be ${JSON.stringify(p.allowedValue)}`);
    default:
      return invalid(`${subject} is invalid`);
  }
}

/**
 * Describes the first problem of a failed validation. `data` is what was validated (the parsed
 * body), so that lengths and the branch of an `anyOf` can be read from it.
 */
export function describeValidation(errors: readonly SchemaError[], data: unknown): Problem {
  let group = errors.filter((e) => e.keyword !== 'anyOf' && e.keyword !== 'oneOf');
  let from = 0;
  for (;;) {
    const first = group[0];
    if (first === undefined) {
      return { message: 'The request body is invalid', param: null, code: 'invalid_value' };
    }
    const at = first.schemaPath.indexOf('/anyOf/', from);
    if (at < 0) return describeLeaf(first, data);
    // Ajv reports each branch it tried. A branch that failed on anything but its own `type`
    // matched the value's type: that is the one the client meant.
    const prefix = first.schemaPath.slice(0, at + '/anyOf/'.length);
    const tried = group.filter((e) => e.schemaPath.startsWith(prefix));
    const meant = tried.find((e) => !/^\d+\/type$/.test(e.schemaPath.slice(prefix.length)));
    if (meant === undefined) {
      const types = tried.flatMap((e): unknown[] =>
        Array.isArray(e.params.type) ? e.params.type : [e.params.type],
      );
      return describeLeaf({ ...first, params: { type: [...new Set(types.map(String))] } }, data);
    }
    const branch = `${prefix}${meant.schemaPath.slice(prefix.length).split('/', 1)[0] ?? ''}/`;
    group = tried.filter((e) => e.schemaPath.startsWith(branch));
    from = branch.length - 1;
  }
}
