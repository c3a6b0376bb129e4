/**
 * @module guard/system-messages — who may instruct a model as its operator. A chat's system and
 * developer messages are kept, stripped or refused as the caller's policy says
 * (`dataControls.systemMessages`), and the operator's own system prompt for the model, when one
 * is configured, is put first — after stripping, so no caller can remove or replace it.
 */
import { GatewayError } from '../errors.js';

/** A chat message as the guard sees it. */
export interface GuardedMessage {
  role: 'system' | 'developer' | 'user' | 'assistant' | 'tool';
  content: string;
}

/** What the policy says about callers' system messages. */
export type SystemMessageRule = 'allow' | 'strip' | 'refuse';

/** The caller may not send system or developer messages (policy `refuse`). */
export class SystemMessageRefusedError extends GatewayError {
  constructor(count: number) {
    super(
      'SYSTEM_MESSAGE_REFUSED',
      `This caller may not send system or developer messages (${String(count)} sent); send user messages only`,
      403,
    );
  }
}

/** What the guard did, for the audit event (counts only, never text). */
export interface SystemMessageVerdict {
  action: 'allow' | 'strip' | 'none';
  /** System or developer messages the caller sent. */
  sent: number;
  /** Whether the operator's system prompt was put first. */
  operatorPrompt: boolean;
}

const isSystem = (m: GuardedMessage): boolean => m.role === 'system' || m.role === 'developer';

/**
 * The messages the model gets. Throws SystemMessageRefusedError when the rule is `refuse` and
 * the caller sent any system or developer message.
 */
export function guardSystemMessages<M extends GuardedMessage>(
  messages: readonly M[],
  rule: SystemMessageRule,
  operatorPrompt: string | undefined,
  make: (content: string) => M,
): { messages: M[]; verdict: SystemMessageVerdict } {
  const sent = messages.reduce((n, m) => n + (isSystem(m) ? 1 : 0), 0);
  if (sent > 0 && rule === 'refuse') throw new SystemMessageRefusedError(sent);
  const kept = sent > 0 && rule === 'strip' ? messages.filter((m) => !isSystem(m)) : [...messages];
  if (operatorPrompt !== undefined) kept.unshift(make(operatorPrompt));
  return {
    messages: kept,
    verdict: {
      action: sent === 0 ? 'none' : rule === 'strip' ? 'strip' : 'allow',
      sent,
      operatorPrompt: operatorPrompt !== undefined,
    },
  };
}
