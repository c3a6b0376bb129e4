/**
 * @module inference/backends/llama-cpp — quantized GGUF generation models on the CPU through
 * llama.cpp (node-llama-cpp, imported lazily). One context per model holds `slots` sequences;
 * each job borrows a sequence and gives it back when it ends, however it ends.
 */
import type {
  ChatHistoryItem,
  ChatWrapper,
  Llama,
  LlamaContext,
  LlamaContextSequence,
  LlamaModel,
  Token,
} from 'node-llama-cpp';
import { abortSignalOf } from '../../../lib/abort.js';
import { isMissingPackage } from '../../../lib/missing-package.js';
import { ModelArtifactError, verifyArtifact } from '../../artifact.js';
import { ModelUnavailableError, OverloadedError } from '../../errors.js';
import { createStopScanner } from './stop-sequences.js';
import type {
  ChatMessage,
  FinishReason,
  GenerateRequest,
  GenerateResult,
  GenerationHandle,
  LoadModel,
  ModelSpecOf,
} from '../../types.js';

type LlamaCppSpec = ModelSpecOf<'llama-cpp'>;
type NodeLlamaCpp = typeof import('node-llama-cpp');

/** Context window used when neither the config nor a small model's training sets one lower. */
const MAX_DEFAULT_CONTEXT = 4096;

let runtime: Promise<{ nlc: NodeLlamaCpp; llama: Llama }> | undefined;

async function importNodeLlamaCpp(): Promise<NodeLlamaCpp> {
  try {
    return await import('node-llama-cpp');
  } catch (err) {
    if (!isMissingPackage(err, 'node-llama-cpp')) throw err;
    throw new ModelUnavailableError(
      'the llama-cpp backend needs node-llama-cpp, which is not installed: npm install node-llama-cpp@3.21.1',
    );
  }
}

/**
 * The process's one llama.cpp instance: CPU only, never builds or downloads anything. Its
 * `maxThreads` is a budget shared by every context, so it grows to the largest `threads` any
 * loaded model asks for (a context's own `threads` is capped by it).
 */
async function sharedLlama(threads: number): Promise<{ nlc: NodeLlamaCpp; llama: Llama }> {
  const pending = (runtime ??= (async () => {
    const nlc = await importNodeLlamaCpp();
    let llama: Llama;
    try {
      llama = await nlc.getLlama({
        gpu: false,
        build: 'never',
        logLevel: nlc.LlamaLogLevel.error,
        maxThreads: threads,
      });
    } catch (err) {
      if (!(err instanceof nlc.NoBinaryFoundError)) throw err;
      throw new ModelUnavailableError(
        `the llama-cpp backend found no CPU build of llama.cpp for ${process.platform}-${process.arch}: node-llama-cpp's optional @node-llama-cpp/* package for it is not installed (was npm run with --omit=optional?)`,
      );
    }
    return { nlc, llama };
  })());
  try {
    const shared = await pending;
    if (shared.llama.maxThreads < threads) shared.llama.maxThreads = threads;
    return shared;
  } catch (err) {
    if (runtime === pending) runtime = undefined; // let a later load try again
    throw err;
  }
}

/**
 * The model's own chat template (resolved by node-llama-cpp to a specialized wrapper or run as
 * Jinja). Without one, a plain template: node-llama-cpp's own guess would pick the Llama 2
 * format for any model whose BOS is `<s>`, with a default system prompt, which base models such
 * as stories260K never saw.
 */
function chatWrapperFor(nlc: NodeLlamaCpp, model: LlamaModel): ChatWrapper {
  const template = model.fileInfo.metadata.tokenizer.chat_template;
  if (template === undefined || template.trim() === '') return new nlc.GeneralChatWrapper();
  return nlc.resolveChatWrapper(model);
}

/** OpenAI roles onto node-llama-cpp history items (tool results are read as user text). */
function toHistory(messages: readonly ChatMessage[]): ChatHistoryItem[] {
  return messages.map((m): ChatHistoryItem => {
    if (m.role === 'system' || m.role === 'developer') return { type: 'system', text: m.content };
    if (m.role === 'assistant') return { type: 'model', response: [m.content] };
    return { type: 'user', text: m.content };
  });
}

/** Whether LlamaCompletion puts BOS before the prompt (it does when the model asks for one). */
function prependsBos(model: LlamaModel): boolean {
  return model.tokens.shouldPrependBosToken && model.tokens.bos !== null;
}

function finishReasonOf(stopReason: string): FinishReason {
  if (stopReason === 'abort') return 'cancelled';
  return stopReason === 'maxTokens' ? 'length' : 'stop';
}

interface Loaded {
  nlc: NodeLlamaCpp;
  model: LlamaModel;
  context: LlamaContext;
  chatWrapper: ChatWrapper;
}

/**
 * Sampling and streaming options shared by chat and completion. Not stop sequences: runJob
 * matches them on the stream, as node-llama-cpp's `customStopTriggers` see each token decoded
 * alone, without SentencePiece's leading space (`" The"` never matched).
 */
function samplingOptions(
  req: GenerateRequest,
  signal: AbortSignal,
  onText: (text: string) => void,
  count: (n: number) => void,
) {
  return {
    maxTokens: req.maxTokens,
    signal,
    // Stop where the abort lands and return what was generated instead of throwing.
    stopOnAbortSignal: true,
    // OpenAI's default: no repetition penalty (node-llama-cpp applies one unless told not to).
    repeatPenalty: false as const,
    onTextChunk: onText,
    onToken: (tokens: Token[]) => {
      count(tokens.length);
    },
    ...(req.temperature === undefined ? {} : { temperature: req.temperature }),
    ...(req.topP === undefined ? {} : { topP: req.topP }),
    ...(req.seed === undefined ? {} : { seed: req.seed }),
  };
}

type Options = ReturnType<typeof samplingOptions>;

/** A job ready to run: its prompt's size in tokens, and how to generate on a sequence. */
interface Job {
  promptTokens: number;
  /** Generates, streaming to `options.onTextChunk`; resolves to node-llama-cpp's stop reason. */
  run(sequence: LlamaContextSequence, options: Options): Promise<string>;
}

/** Chat: the conversation rendered by the chat wrapper, answered by a LlamaChatSession. */
function chatJob({ nlc, model, chatWrapper }: Loaded, messages: readonly ChatMessage[]): Job {
  const history = toHistory(messages);
  // The session appends the prompt as the next user turn; a conversation that does not end
  // with a user message gets an empty one.
  const last = history.at(-1);
  const prompt = last?.type === 'user' ? last.text : '';
  if (last?.type === 'user') history.pop();
  const rendered = chatWrapper.generateContextState({
    chatHistory: [...history, { type: 'user', text: prompt }, { type: 'model', response: [] }],
  });
  return {
    promptTokens: rendered.contextText.tokenize(model.tokenizer).length,
    async run(sequence, options) {
      const session = new nlc.LlamaChatSession({ contextSequence: sequence, chatWrapper });
      try {
        session.setChatHistory(history);
        return (await session.promptWithMeta(prompt, options)).stopReason;
      } finally {
        session.dispose();
      }
    },
  };
}

/** Completion: the prompt continued by a LlamaCompletion. */
function completionJob({ nlc, model }: Loaded, prompt: string): Job {
  // Tokenized here as llama.cpp's own server does (with SentencePiece's space prefix), so the
  // count is the one countTokens gives; given text, LlamaCompletion would drop that prefix.
  const input = model.tokenize(prompt);
  return {
    promptTokens: input.length + (prependsBos(model) ? 1 : 0),
    async run(sequence, options) {
      const completion = new nlc.LlamaCompletion({ contextSequence: sequence });
      try {
        return (await completion.generateCompletionWithMeta(input, options)).metadata.stopReason;
      } finally {
        completion.dispose();
      }
    },
  };
}

async function runJob(
  loaded: Loaded,
  sequence: LlamaContextSequence,
  req: GenerateRequest,
  onText: (text: string) => void,
): Promise<GenerateResult> {
  let text = ''; // what was streamed: the result's text, so the two always agree
  let completionTokens = 0;
  const stops = createStopScanner(req.stop ?? [], (chunk) => {
    text += chunk;
    onText(chunk);
  });
  const stopped = new AbortController();
  const options = samplingOptions(
    req,
    AbortSignal.any([abortSignalOf(req.signal), stopped.signal]),
    (chunk) => {
      if (stops.push(chunk)) stopped.abort();
    },
    (n) => (completionTokens += n),
  );
  const job =
    req.messages === undefined
      ? completionJob(loaded, req.prompt ?? '')
      : chatJob(loaded, req.messages);
  const { promptTokens } = job;
  const result = (finishReason: FinishReason): GenerateResult => {
    // A held-back tail that turned out not to start a stop is text too (unless nobody listens).
    if (finishReason !== 'cancelled') stops.flush();
    return { text, finishReason, promptTokens, completionTokens };
  };
  try {
    const stop = await job.run(sequence, options);
    return result(stops.stopped ? 'stop' : finishReasonOf(stop));
  } catch (err) {
    // An abort that lands before the first token (while waiting for a lock) still throws.
    if (stops.stopped) return result('stop');
    if (!req.signal.aborted) throw err;
    return result('cancelled');
  }
}

async function load(spec: LlamaCppSpec, path: string): Promise<Loaded> {
  const { nlc, llama } = await sharedLlama(spec.threads);
  let model: LlamaModel;
  try {
    model = await llama.loadModel({ modelPath: path, useMmap: false });
  } catch (err) {
    const reason = err instanceof Error ? err.message : 'unknown error';
    throw new ModelArtifactError(`model file ${path} could not be loaded by llama.cpp: ${reason}`);
  }
  try {
    const contextSize = spec.contextSize || Math.min(model.trainContextSize, MAX_DEFAULT_CONTEXT);
    // An explicit thread count: the CPU default (at least 4) is far slower on small machines.
    const context = await model.createContext({
      sequences: spec.slots,
      contextSize,
      threads: spec.threads,
    });
    return { nlc, model, context, chatWrapper: chatWrapperFor(nlc, model) };
  } catch (err) {
    await model.dispose();
    throw err;
  }
}

/**
 * Loads a GGUF model: checks the file's sha256 first (a mismatch is refused before llama.cpp
 * reads a byte), then creates one context with `spec.slots` sequences of `spec.contextSize`
 * tokens each (0: the model's training context, at most 4096) on `spec.threads` threads.
 * Temperature 0 (or none) is greedy and deterministic.
 */
export const loadModel: LoadModel<'llama-cpp'> = async (spec) => {
  const { sha256, sizeBytes } = await verifyArtifact(spec.path, spec.sha256);
  const loaded = await load(spec, spec.path);
  const { model, context } = loaded;
  let closed: Promise<void> | undefined;

  const handle: GenerationHandle = {
    task: 'generation',
    slots: spec.slots,
    contextSize: context.contextSize,
    info: {
      id: spec.id,
      backend: 'llama-cpp',
      task: 'generation',
      sha256,
      sizeBytes,
      contextSize: context.contextSize,
    },
    countTokens: (text) => model.tokenize(text).length,
    async generate(req, onText) {
      if (req.signal.aborted) {
        return { text: '', finishReason: 'cancelled', promptTokens: 0, completionTokens: 0 };
      }
      if (req.maxTokens < 1) {
        return { text: '', finishReason: 'length', promptTokens: 0, completionTokens: 0 };
      }
      // The scheduler never runs more than `slots` jobs; if it did, fail rather than wait.
      if (context.sequencesLeft === 0) throw new OverloadedError();
      const sequence = context.getSequence();
      try {
        return await runJob(loaded, sequence, req, onText);
      } finally {
        // Resolves once the sequence id is back in the context's pool: the slot is free.
        await sequence.dispose();
      }
    },
    close() {
      closed ??= (async () => {
        await context.dispose();
        await model.dispose();
      })();
      return closed;
    },
  };
  return handle;
};
