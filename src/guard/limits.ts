/**
 * @module guard/limits — the request-shape limits a caller's policy sets (`dataControls`): how
 * many messages a chat may hold, how many inputs and characters an embeddings or moderations
 * request may carry, and the most `max_tokens` it may ask for (lowered to the cap, not refused).
 * Prompt tokens are counted with the model's own tokenizer where the model runs (the inference
 * service enforces `maxPromptTokens`). Each refusal names the limit and its value.
 */
import { GatewayError } from '../errors.js';
import type { DataControls } from '../policy/index.js';

/** A request beyond one of its caller's limits: 400 for counts, 413 for sizes. */
export class LimitExceededError extends GatewayError {
  constructor(message: string, status: 400 | 413) {
    super('LIMIT_EXCEEDED', message, status);
  }
}

/** Refuses a chat with more messages than `maxMessages`. */
export function checkMessages(count: number, controls: DataControls): void {
  const max = controls.maxMessages;
  if (max !== undefined && count > max) {
    throw new LimitExceededError(
      `This chat has ${String(count)} messages; your policy allows at most ${String(max)} (dataControls.maxMessages)`,
      400,
    );
  }
}

/** Refuses more inputs than `maxInputs`, or more characters in all than `maxInputChars`. */
export function checkInputs(texts: readonly string[], controls: DataControls): void {
  const maxInputs = controls.maxInputs;
  if (maxInputs !== undefined && texts.length > maxInputs) {
    throw new LimitExceededError(
      `This request has ${String(texts.length)} inputs; your policy allows at most ${String(maxInputs)} (dataControls.maxInputs)`,
      400,
    );
  }
  const maxChars = controls.maxInputChars;
  if (maxChars === undefined) return;
  let chars = 0;
  for (const t of texts) chars += t.length;
  if (chars > maxChars) {
    throw new LimitExceededError(
      `The inputs have ${String(chars)} characters; your policy allows at most ${String(maxChars)} (dataControls.maxInputChars)`,
      413,
    );
  }
}

/** `max_tokens` lowered to the caller's cap, and whether it was. */
export function capMaxTokens(
  requested: number,
  controls: DataControls,
): { maxTokens: number; capped: boolean } {
  const cap = controls.maxTokens;
  return cap !== undefined && requested > cap
    ? { maxTokens: cap, capped: true }
    : { maxTokens: requested, capped: false };
}
