/**
 * @module http/routes/guard — `POST /v1/guard/inspect` (scope `guard:inspect`): what the data
 * controls would do with a text, without calling a model. It runs the pipeline's own code
 * (guard/pipeline) with the rules of `role` — or, with no role, the strictest built-in settings
 * (every type detected) — and the term lists of `model` when one is named.
 */
import type { FastifyInstance } from 'fastify';
import { BadRequestError } from '../../errors.js';
import { Redactor } from '../../guard/index.js';
import type { Policy } from '../../policy/index.js';
import { callContext } from '../openai.js';
import { clientGone } from '../sse.js';

interface InspectBody {
  text: string;
  phase: 'prompt' | 'output';
  role?: string;
  model?: string;
}

const schema = {
  body: {
    type: 'object',
    required: ['text', 'phase'],
    additionalProperties: false,
    properties: {
      text: { type: 'string', maxLength: 1_000_000 },
      phase: { type: 'string', enum: ['prompt', 'output'] },
      role: { type: 'string', minLength: 1, maxLength: 64 },
      model: { type: 'string', minLength: 1, maxLength: 128 },
    },
  },
} as const;

export function guardRoutes(app: FastifyInstance, policy: Policy): void {
  app.post<{ Body: InspectBody }>(
    '/v1/guard/inspect',
    { schema, config: { scope: 'guard:inspect' } },
    async (request, reply) => {
      const { text, phase, role, model } = request.body;
      const guards = request.server.guards;
      if (guards === undefined) throw new BadRequestError('the content guards are not available');
      const snapshot = policy.current();
      if (role !== undefined && !snapshot.hasRole(role)) {
        throw new BadRequestError(`unknown role: ${role}`);
      }
      const controls = snapshot.dataControls(role === undefined ? [] : [role]);
      const compiled = guards.compiled(snapshot, controls, model ?? '*');
      const redactor = new Redactor();
      let action: 'allow' | 'redact' | 'block';
      let redacted: string | undefined;
      const findings: {
        type: string;
        start: number;
        end: number;
        guard: string;
        score?: number;
      }[] = [];
      if (phase === 'prompt') {
        const v = await guards.checkPrompt(compiled, [text], redactor, {
          injection: true,
          signal: callContext(request, clientGone(request, reply)),
        });
        for (const f of v.findings[0] ?? []) findings.push(shape(f));
        for (const f of v.injection?.findings[0] ?? []) findings.push(shape(f));
        findings.sort((a, b) => a.start - b.start || a.end - b.end);
        action = v.action;
        if (action === 'redact') redacted = v.texts[0];
      } else {
        // A stream stops at the first blocked finding: so does this list.
        const v = guards.checkOutput(compiled, text, redactor);
        for (const f of v.findings) findings.push(shape(f));
        action = v.action;
        if (action === 'redact') redacted = v.text;
      }
      return { action, findings, ...(redacted === undefined ? {} : { redacted }) };
    },
  );
}

function shape(f: { type: string; start: number; end: number; guard: string; score?: number }) {
  return {
    type: f.type,
    start: f.start,
    end: f.end,
    guard: f.guard,
    ...(f.score === undefined ? {} : { score: f.score }),
  };
}
