import { describe, expect, it } from 'vitest';
import { UsageError } from './command.js';
import { parseLimitsOption } from './limits.js';

describe('--limits', () => {
  it('reads name=value pairs, per-model ones under models', () => {
    expect(
      parseLimitsOption(
        'requestsPerMinute=60, tokensPerDay=200000,models.chat-*.tokensPerMinute=5000,models.chat-*.concurrentRequests=2',
      ),
    ).toEqual({
      requestsPerMinute: 60,
      tokensPerDay: 200000,
      models: { 'chat-*': { tokensPerMinute: 5000, concurrentRequests: 2 } },
    });
    expect(parseLimitsOption('models.a.b.c.requestsPerMinute=1')).toEqual({
      models: { 'a.b.c': { requestsPerMinute: 1 } },
    });
  });

  it('reads a JSON object, and none', () => {
    expect(parseLimitsOption('{"concurrentRequests":3}')).toEqual({ concurrentRequests: 3 });
    expect(parseLimitsOption(' none ')).toBeNull();
  });

  it.each([
    ['rpm=60', /unknown limit "rpm"/],
    ['requestsPerMinute=-1', /"requestsPerMinute=-1" is not name=<whole number>/],
    ['requestsPerMinute=1.5', /is not name=<whole number>/],
    ['requestsPerMinute', /is not name=<whole number>/],
    ['=5', /is not name=<whole number>/],
    ['requestsPerMinute=1,requestsPerMinute=2', /"requestsPerMinute" is given twice/],
    ['models..requestsPerMinute=1', /needs models.<model pattern>.<limit>/],
    ['{"a":', /not a JSON object/],
    ['[1]', /unknown limit|not name/],
  ])('refuses %s', (text, message) => {
    expect(() => parseLimitsOption(text)).toThrow(UsageError);
    expect(() => parseLimitsOption(text)).toThrow(message);
  });
});
