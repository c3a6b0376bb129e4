/**
 * @module policy/parse — reads a policy file's text into a validated document. YAML is parsed
 * with positions (`parseDocument` + `LineCounter`), then checked against the schema; each schema
 * issue's path is mapped back to the node it names, so every error says which key and which line.
 */
import { isMap, isPair, isScalar, isSeq, LineCounter, parseDocument, type Node } from 'yaml';
import type { z } from 'zod';
import { PolicyFileError, type PolicyIssue } from './errors.js';
import { policySchema, type PolicyDocument } from './schema.js';

/** Largest policy file read, bytes: a policy is a short document. */
export const MAX_POLICY_BYTES = 1024 * 1024;

type Segment = string | number;

/** `roles.developer.scopes[1]` for `['roles', 'developer', 'scopes', 1]`. */
export function keyPath(path: readonly Segment[]): string {
  let out = '';
  for (const s of path) {
    if (typeof s === 'number') out += `[${s}]`;
    else out += out === '' ? s : `.${s}`;
  }
  return out;
}

interface Located {
  /** The deepest node found along the path, and whether it is the whole path. */
  node: Node | undefined;
  /** The key node of the last pair walked through (points at `key:` rather than its value). */
  key: Node | undefined;
  complete: boolean;
}

/** Walks `path` through the YAML tree as far as it exists. */
function locate(root: unknown, path: readonly Segment[]): Located {
  let node = root as Node | undefined;
  let key: Node | undefined;
  for (const seg of path) {
    if (isMap(node)) {
      const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === String(seg));
      if (pair === undefined) return { node, key, complete: false };
      key = isScalar(pair.key) ? pair.key : undefined;
      const value = pair.value;
      // `key:` with nothing after it: the key is the best place to point at.
      node = value === null ? key : (value as Node);
    } else if (isSeq(node) && typeof seg === 'number') {
      const item: unknown = node.items[seg];
      if (item === undefined || isPair(item)) return { node, key, complete: false };
      node = item as Node;
      key = undefined;
    } else {
      return { node, key, complete: false };
    }
  }
  return { node, key, complete: true };
}

function position(node: Node | undefined, lines: LineCounter): { line: number; column: number } {
  const offset = node?.range?.[0] ?? 0;
  const { line, col } = lines.linePos(offset);
  return { line, column: col };
}

function issuesOf(error: z.ZodError, root: unknown, lines: LineCounter): PolicyIssue[] {
  const out: PolicyIssue[] = [];
  for (const issue of error.issues) {
    const path = issue.path.filter((s): s is Segment => typeof s !== 'symbol');
    if (issue.code === 'unrecognized_keys') {
      // One issue per unknown key, each pointing at that key's own line.
      for (const k of issue.keys) {
        const at = locate(root, [...path, k]);
        out.push({
          path: keyPath([...path, k]),
          ...position(at.key ?? at.node, lines),
          message: 'unknown key',
        });
      }
      continue;
    }
    const at = locate(root, path);
    // A missing key is reported at its parent; a bad role name at the name itself.
    const node = issue.code === 'invalid_key' || !at.complete ? (at.key ?? at.node) : at.node;
    const message =
      issue.code === 'invalid_key'
        ? path.length === 1 && path[0] === 'roles'
          ? 'role names are lower-case letters, digits, . _ - (max 64), starting with a letter'
          : (issue.issues[0]?.message ?? issue.message)
        : issue.code === 'invalid_type' && !at.complete
          ? `required${issue.expected === 'array' ? ' (a list)' : ''}`
          : issue.message;
    out.push({ path: keyPath(path), ...position(node, lines), message });
  }
  return out;
}

/**
 * Parses and validates a policy file's text. Throws {@link PolicyFileError} naming every key and
 * line at fault (YAML syntax errors included); `source` names the file in the messages.
 */
export function parsePolicy(text: string, source: string): PolicyDocument {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw new PolicyFileError(
      source,
      doc.errors.map((e) => ({
        path: '',
        line: e.linePos?.[0].line ?? 1,
        column: e.linePos?.[0].col ?? 1,
        message:
          e.code === 'DUPLICATE_KEY'
            ? `duplicate key ${JSON.stringify(/^[^:\n]*/.exec(text.slice(e.pos[0]))?.[0].trim() ?? '')}`
            : // The first line: the rest is a pretty-printed excerpt of the file.
              (e.message.split('\n')[0] ?? e.code).replace(/ at line \d+, column \d+:?$/, ''),
      })),
    );
  }
  if (doc.contents === null) {
    throw new PolicyFileError(source, [
      { path: '', line: 1, column: 1, message: 'the policy file is empty' },
    ]);
  }
  if (!isMap(doc.contents)) {
    throw new PolicyFileError(source, [
      { path: '', ...position(doc.contents, lines), message: 'expected a mapping with roles:' },
    ]);
  }
  let plain: unknown;
  try {
    plain = doc.toJS({ maxAliasCount: 100 });
  } catch (err) {
    // yaml refuses alias expansion beyond the count (a "billion laughs" document).
    throw new PolicyFileError(
      source,
      [{ path: '', line: 1, column: 1, message: 'too many YAML aliases' }],
      { cause: err },
    );
  }
  const parsed = policySchema.safeParse(plain);
  if (!parsed.success)
    throw new PolicyFileError(source, issuesOf(parsed.error, doc.contents, lines));
  return parsed.data;
}
