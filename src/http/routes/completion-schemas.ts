/**
 * @module http/routes/completion-schemas — request schemas of the completion endpoints. Unknown
 * fields are refused (400) rather than silently ignored, except the OpenAI fields that do not
 * change the result here (`user`, `metadata`, `store`, `logprobs: false`, `n: 1`).
 */

const common = {
  model: { type: 'string', minLength: 1, maxLength: 128 },
  max_tokens: { type: ['integer', 'null'], minimum: 1, maximum: 131_072 },
  temperature: { type: ['number', 'null'], minimum: 0, maximum: 2 },
  top_p: { type: ['number', 'null'], minimum: 0, maximum: 1 },
  seed: { type: ['integer', 'null'], minimum: -2_147_483_648, maximum: 4_294_967_295 },
  stop: {
    anyOf: [
      { type: 'string', minLength: 1, maxLength: 256 },
      { type: 'array', maxItems: 4, items: { type: 'string', minLength: 1, maxLength: 256 } },
      { type: 'null' },
    ],
  },
  stream: { type: ['boolean', 'null'] },
  stream_options: {
    type: ['object', 'null'],
    additionalProperties: false,
    properties: { include_usage: { type: 'boolean' } },
  },
  n: { type: ['integer', 'null'], minimum: 1, maximum: 1 },
  user: { type: 'string', maxLength: 256 },
  metadata: { type: ['object', 'null'] },
  store: { type: ['boolean', 'null'] },
  logprobs: { type: ['boolean', 'null'], enum: [false, null] },
  frequency_penalty: { type: ['number', 'null'], minimum: -2, maximum: 2 },
  presence_penalty: { type: ['number', 'null'], minimum: -2, maximum: 2 },
} as const;

const contentPart = {
  type: 'object',
  required: ['type', 'text'],
  additionalProperties: false,
  properties: { type: { const: 'text' }, text: { type: 'string', maxLength: 1_000_000 } },
} as const;

export const chatSchema = {
  body: {
    type: 'object',
    required: ['model', 'messages'],
    additionalProperties: false,
    properties: {
      ...common,
      max_completion_tokens: { type: ['integer', 'null'], minimum: 1, maximum: 131_072 },
      messages: {
        type: 'array',
        minItems: 1,
        maxItems: 1024,
        items: {
          type: 'object',
          required: ['role', 'content'],
          properties: {
            role: { enum: ['system', 'developer', 'user', 'assistant'] },
            content: {
              anyOf: [
                { type: 'string', maxLength: 1_000_000 },
                { type: 'array', maxItems: 256, items: contentPart },
                { type: 'null' },
              ],
            },
            name: { type: 'string', maxLength: 256 },
          },
          additionalProperties: false,
        },
      },
    },
  },
} as const;

export const completionSchema = {
  body: {
    type: 'object',
    required: ['model', 'prompt'],
    additionalProperties: false,
    properties: {
      ...common,
      prompt: {
        anyOf: [
          { type: 'string', maxLength: 1_000_000 },
          {
            type: 'array',
            minItems: 1,
            maxItems: 1,
            items: { type: 'string', maxLength: 1_000_000 },
          },
        ],
      },
      echo: { type: ['boolean', 'null'], enum: [false, null] },
      suffix: { type: 'null' },
    },
  },
} as const;

type Nullable<T> = T | null | undefined;

interface Common {
  model: string;
  max_tokens?: Nullable<number>;
  temperature?: Nullable<number>;
  top_p?: Nullable<number>;
  seed?: Nullable<number>;
  stop?: Nullable<string | string[]>;
  stream?: Nullable<boolean>;
  stream_options?: Nullable<{ include_usage?: boolean }>;
}

/** Body of POST /v1/chat/completions after validation. */
export interface ChatBody extends Common {
  max_completion_tokens?: Nullable<number>;
  messages: {
    role: 'system' | 'developer' | 'user' | 'assistant';
    content: string | { type: 'text'; text: string }[] | null;
  }[];
}

/** Body of POST /v1/completions after validation. */
export interface CompletionBody extends Common {
  prompt: string | string[];
}
