/**
 * @module http/request-logger — `request.log` without a pino child logger per request: Fastify
 * makes one for every request (binding its id), which costs on every request although most
 * requests log nothing but their access line (written on the base logger). This child is made
 * the first time a request actually logs something.
 */
import type { FastifyBaseLogger } from 'fastify';
import type { Bindings, ChildLoggerOptions } from 'pino';

type Level = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

/** A `request.log` that creates its pino child on first use. */
class LazyChild implements FastifyBaseLogger {
  readonly #parent: FastifyBaseLogger;
  readonly #bindings: Bindings;
  #real: FastifyBaseLogger | undefined;

  constructor(parent: FastifyBaseLogger, bindings: Bindings) {
    this.#parent = parent;
    this.#bindings = bindings;
  }

  #get(): FastifyBaseLogger {
    this.#real ??= this.#parent.child(this.#bindings);
    return this.#real;
  }

  #call(level: Level, args: unknown[]): void {
    const real = this.#get();
    // pino's log methods are overloaded; the arguments are passed on exactly as given.
    Reflect.apply(real[level], real, args);
  }

  get level(): string {
    return this.#real?.level ?? this.#parent.level;
  }

  set level(value: string) {
    this.#get().level = value;
  }

  fatal(...args: unknown[]): void {
    this.#call('fatal', args);
  }
  error(...args: unknown[]): void {
    this.#call('error', args);
  }
  warn(...args: unknown[]): void {
    this.#call('warn', args);
  }
  info(...args: unknown[]): void {
    this.#call('info', args);
  }
  debug(...args: unknown[]): void {
    this.#call('debug', args);
  }
  trace(...args: unknown[]): void {
    this.#call('trace', args);
  }
  silent(...args: unknown[]): void {
    this.#call('silent', args);
  }

  child(bindings: Bindings, options?: ChildLoggerOptions): FastifyBaseLogger {
    return this.#get().child(bindings, options);
  }
}

/** Fastify's `childLoggerFactory`, returning a {@link LazyChild}. */
export function lazyChildLogger(logger: FastifyBaseLogger, bindings: Bindings): FastifyBaseLogger {
  return new LazyChild(logger, bindings);
}
