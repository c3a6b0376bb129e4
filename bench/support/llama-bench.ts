/**
 * @module bench/support/llama-bench — stories260K (llama-cpp backend) workloads: streamed chat
 * completions through POST /v1/chat/completions from the load process (SSE; tokens from the
 * final usage chunk), and node-llama-cpp called directly in this process on the same GGUF with
 * the same context shape, chat template, token budget and greedy sampling.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { LlamaContext, LlamaModel } from 'node-llama-cpp';
import { runClients } from './clients.js';
import type { LoadProcess } from './http-load.js';
import type { BenchApp } from './inference-app.js';
import { measure, type Runner } from './samples.js';
import { STORY_PROMPTS } from './sentences.js';

/** The GGUF, next to the repository as `shared/models` (absent: the section is skipped). */
export const STORIES_PATH = fileURLToPath(
  new URL('../../../shared/models/stories260K/stories260K.gguf', import.meta.url),
);
export const STORIES_MODEL = 'stories';
/** Generation slots on the server, and sequences of the direct context. */
export const LLAMA_SLOTS = 2;
/** Concurrent clients measured. */
export const LLAMA_WIDTHS = [1, 2] as const;

/** Whether the GGUF is present. */
export const haveStories = (): boolean => existsSync(STORIES_PATH);

/** Config entry for the served model. */
export function storiesModel(): Record<string, unknown> {
  return {
    id: STORIES_MODEL,
    backend: 'llama-cpp',
    path: STORIES_PATH,
    threads: 1,
    slots: LLAMA_SLOTS,
  };
}

export const apiKey = (w: number) => `api ×${w}`;
export const llamaDirectKey = (w: number) => `direct ×${w}`;

/** node-llama-cpp on its own, loaded by the benchmark. */
export interface DirectLlama {
  runners: Record<string, Runner>;
  /** What it writes for the n-th story prompt (to check it does the same work as the API). */
  text(n: number): Promise<string>;
  /** Load time and resident-set growth of the direct copy. */
  loadMs: number;
  rssDeltaBytes: number;
  rssAfter: number;
  close(): Promise<void>;
}

/** Loads the GGUF directly (no Gatehouse code) and returns its workloads. */
export async function loadDirectLlama(
  contextSize: number,
  maxTokens: number,
): Promise<DirectLlama> {
  const started = performance.now();
  const rssBefore = process.memoryUsage().rss;
  const nlc = await import('node-llama-cpp');
  const llama = await nlc.getLlama({
    gpu: false,
    build: 'never',
    logLevel: nlc.LlamaLogLevel.error,
  });
  const model: LlamaModel = await llama.loadModel({ modelPath: STORIES_PATH, useMmap: false });
  const context: LlamaContext = await model.createContext({
    sequences: LLAMA_SLOTS,
    contextSize,
    threads: 1,
  });
  const rssAfter = process.memoryUsage().rss;
  const loadMs = performance.now() - started;
  // The template the server picks: the model's own, or a plain one when it has none.
  const template = model.fileInfo.metadata.tokenizer.chat_template;
  const chatWrapper =
    template === undefined || template.trim() === ''
      ? new nlc.GeneralChatWrapper()
      : nlc.resolveChatWrapper(model);

  const once = async (prompt: string) => {
    const sequence = context.getSequence();
    const session = new nlc.LlamaChatSession({ contextSequence: sequence, chatWrapper });
    const sent = performance.now();
    let tokens = 0;
    let chunks = 0;
    let ttftMs: number | undefined;
    try {
      // No system turn, as the server sends none when the request has none; the session would
      // otherwise start with node-llama-cpp's default system prompt (~50 more prompt tokens).
      session.setChatHistory([]);
      const { responseText } = await session.promptWithMeta(prompt, {
        maxTokens,
        temperature: 0,
        repeatPenalty: false,
        onToken: (t) => {
          tokens += t.length;
        },
        onTextChunk: (text) => {
          if (text === '') return;
          ttftMs ??= performance.now() - sent;
          chunks++;
        },
      });
      return {
        units: tokens,
        chunks,
        text: responseText,
        ...(ttftMs === undefined ? {} : { ttftMs }),
      };
    } finally {
      session.dispose();
      await sequence.dispose();
    }
  };
  const prompt = (n: number) => STORY_PROMPTS[n % STORY_PROMPTS.length] ?? '';
  const runners: Record<string, Runner> = {};
  for (const w of LLAMA_WIDTHS) {
    runners[llamaDirectKey(w)] = (ms) =>
      measure(async () => ({
        result: await runClients(w, ms, (c, i) => once(prompt(c + i * w))),
      }));
  }
  return {
    runners,
    text: async (n) => (await once(prompt(n))).text,
    loadMs,
    rssDeltaBytes: rssAfter - rssBefore,
    rssAfter,
    close: async () => {
      // Not `llama.dispose()`: both instances share the one native addon, which the server's
      // model still uses; node-llama-cpp frees it when the process exits.
      await context.dispose();
      await model.dispose();
    },
  };
}

/** Streamed chat completions through the API, 1 and 2 clients. */
export function apiLlamaRunners(
  b: BenchApp,
  load: LoadProcess,
  maxTokens: number,
): Record<string, Runner> {
  const bodies = STORY_PROMPTS.map((content) =>
    JSON.stringify({
      model: STORIES_MODEL,
      messages: [{ role: 'user', content }],
      max_completion_tokens: maxTokens,
      temperature: 0,
      stream: true,
      stream_options: { include_usage: true },
    }),
  );
  const runners: Record<string, Runner> = {};
  for (const width of LLAMA_WIDTHS) {
    runners[apiKey(width)] = (ms) =>
      measure(async () => {
        const { result, cpuUs } = await load.run({
          kind: 'chat',
          url: `${b.base}/v1/chat/completions`,
          authorization: b.authorization,
          bodies,
          width,
          ms,
        });
        return { result, clientCpuUs: cpuUs };
      });
  }
  return runners;
}

/** What the API writes (not streamed) for the n-th story prompt, with the same settings. */
export async function apiText(b: BenchApp, n: number, maxTokens: number): Promise<string> {
  const res = await fetch(`${b.base}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: b.authorization, 'content-type': 'application/json' },
    body: JSON.stringify({
      model: STORIES_MODEL,
      messages: [{ role: 'user', content: STORY_PROMPTS[n % STORY_PROMPTS.length] ?? '' }],
      max_completion_tokens: maxTokens,
      temperature: 0,
    }),
  });
  if (res.status !== 200) throw new Error(`chat completion answered ${res.status}`);
  const answer = (await res.json()) as { choices: { message: { content: string } }[] };
  return answer.choices[0]?.message.content ?? '';
}
