import { describe, expect, it } from 'vitest';
import { abortSignalOf, LazyAbort } from './abort.js';

describe('LazyAbort', () => {
  it('calls each listener once on abort, in order, and forgets removed ones', () => {
    const a = new LazyAbort();
    const calls: string[] = [];
    const fn = () => calls.push('fn');
    const obj = { handleEvent: (e: Event) => calls.push(`obj:${e.type}`) };
    const gone = () => calls.push('removed');
    a.addEventListener('abort', fn, { once: true });
    a.addEventListener('abort', obj);
    a.addEventListener('abort', gone);
    a.removeEventListener('abort', gone);
    expect(a.aborted).toBe(false);
    a.abort();
    a.abort();
    expect(a.aborted).toBe(true);
    expect(calls).toEqual(['fn', 'obj:abort']);
    // Like an aborted AbortSignal: a listener added afterwards is never called.
    a.addEventListener('abort', fn);
    expect(calls).toHaveLength(2);
  });

  it('makes a real AbortSignal only when asked, aborted with it or already aborted', () => {
    const a = new LazyAbort();
    const s = a.signal;
    expect(s).toBeInstanceOf(AbortSignal);
    expect(a.signal).toBe(s);
    let fired = 0;
    s.addEventListener('abort', () => fired++);
    a.abort();
    expect(s.aborted).toBe(true);
    expect(fired).toBe(1);
    const late = new LazyAbort();
    late.abort();
    expect(late.signal.aborted).toBe(true);
  });

  it('abortSignalOf gives a signal itself, and a LazyAbort its signal', () => {
    const c = new AbortController();
    expect(abortSignalOf(c.signal)).toBe(c.signal);
    const a = new LazyAbort();
    expect(abortSignalOf(a)).toBe(a.signal);
  });
});
