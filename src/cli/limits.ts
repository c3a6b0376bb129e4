/**
 * @module cli/limits — the `--limits` option of `gatehouse clients create|update`: the policy's
 * `limits` shape written as `name=value` pairs (`requestsPerMinute=60,tokensPerDay=200000`,
 * `models.chat-*.tokensPerMinute=5000` for one model pattern) or as JSON (`{"requestsPerMinute":60}`).
 * The identity area validates the result against the policy schema.
 */
import { UsageError } from './command.js';

const NAMES = new Set([
  'requestsPerMinute',
  'tokensPerMinute',
  'tokensPerDay',
  'concurrentRequests',
]);

/** The limits an option value spells; `none` → null (back to the roles' limits). */
export function parseLimitsOption(text: string): Record<string, unknown> | null {
  const value = text.trim();
  if (value === 'none') return null;
  if (value.startsWith('{')) {
    try {
      const parsed: unknown = JSON.parse(value);
      if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed))
        return parsed as Record<string, unknown>;
    } catch {
      // falls through to the usage error
    }
    throw new UsageError('--limits: not a JSON object');
  }
  const top: Record<string, unknown> = {};
  const models: Record<string, Record<string, number>> = {};
  for (const pair of value.split(',')) {
    const eq = pair.lastIndexOf('=');
    const key = pair.slice(0, eq).trim();
    const raw = pair.slice(eq + 1).trim();
    if (eq <= 0 || !/^\d+$/.test(raw)) {
      throw new UsageError(`--limits: "${pair}" is not name=<whole number>`);
    }
    const n = Number(raw);
    let name = key;
    let target: Record<string, unknown> = top;
    if (key.startsWith('models.')) {
      const dot = key.lastIndexOf('.');
      const pattern = key.slice('models.'.length, dot);
      name = key.slice(dot + 1);
      if (pattern === '' || dot <= 'models.'.length - 1) {
        throw new UsageError(`--limits: "${key}" needs models.<model pattern>.<limit>`);
      }
      target = models[pattern] ??= {};
    }
    if (!NAMES.has(name)) {
      throw new UsageError(
        `--limits: unknown limit "${name}"; one of ${[...NAMES].join(', ')} (or models.<pattern>.<limit>)`,
      );
    }
    if (name in target) throw new UsageError(`--limits: "${key}" is given twice`);
    target[name] = n;
  }
  return Object.keys(models).length > 0 ? { ...top, models } : top;
}
