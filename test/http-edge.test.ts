/**
 * @module test/http-edge — connection limits over real sockets: a flood of sockets dribbling a
 * body byte by byte is answered 408 and closed (and so is one that never finishes its headers,
 * or idles after a keep-alive answer) while `/healthz` and the token endpoint keep answering;
 * the connection cap refuses what is beyond it; oversized headers get 431, an oversized body
 * 413 and a malformed URL 400, each in the shape of the route; and the log gets a line or two
 * for the whole flood, not one per socket.
 */
import { connect, type Socket } from 'node:net';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createLogger } from '../src/lib/logger.js';
import { basic, form, requestToken, startApp, type Fixture } from './support/app-fixture.js';

/** A raw client socket: what it received, and a promise that settles when it is closed. */
interface Raw {
  socket: Socket;
  received: () => string;
  closed: Promise<void>;
}

function open(port: number, first = ''): Promise<Raw> {
  return new Promise((resolve, reject) => {
    const socket = connect({ port, host: '127.0.0.1' });
    let data = '';
    socket.setEncoding('latin1');
    socket.on('data', (s: string) => (data += s));
    socket.on('error', () => undefined);
    const closed = new Promise<void>((done) =>
      socket.once('close', () => {
        done();
      }),
    );
    socket.once('connect', () => {
      if (first !== '') socket.write(first);
      resolve({ socket, received: () => data, closed });
    });
    socket.once('error', reject);
  });
}

/** Fails (instead of hanging the suite) if `p` has not settled after `ms`. */
async function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const limit = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      reject(new Error(`${what}: still pending after ${ms} ms`));
    }, ms);
  });
  try {
    return await Promise.race([p, limit]);
  } finally {
    clearTimeout(timer);
  }
}

function bodyOf(response: string): unknown {
  return JSON.parse(response.slice(response.indexOf('\r\n\r\n') + 4));
}

interface LogLine {
  level: number;
  msg: string;
  reason?: string;
  reasons?: Record<string, number>;
  remote?: string;
}

function capture(): { lines: LogLine[]; logger: ReturnType<typeof createLogger> } {
  const lines: LogLine[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const l of chunk.toString('utf8').split('\n'))
        if (l !== '') lines.push(JSON.parse(l) as LogLine);
      done();
    },
  });
  return { lines, logger: createLogger('info', sink) };
}

/** A request whose body comes one byte at a time; `AUTH` is replaced by a valid bearer token. */
const SLOW_BODY =
  'POST /v1/embeddings HTTP/1.1\r\nhost: x\r\nauthorization: AUTH\r\ncontent-type: application/json\r\n' +
  'content-length: 1000\r\n\r\n{';

/** A bearer token of a fresh developer client of `f`. */
async function bearer(f: Fixture): Promise<string> {
  const res = await requestToken(f, await f.client());
  return `Bearer ${res.json<{ access_token: string }>().access_token}`;
}

describe('a slow-body flood', () => {
  const FLOOD = 150;
  let f: Fixture;
  let port: number;
  const log = capture();

  beforeAll(async () => {
    f = await startApp({
      listen: true,
      realClock: true,
      config: {
        server: { headersTimeoutMs: 300, requestTimeoutMs: 900, keepAliveTimeoutMs: 300 },
        log: { edgeSummaryMs: 600_000 },
      },
      overrides: { logger: log.logger },
    });
    port = Number(new URL(f.base).port);
  });
  afterAll(async () => {
    await f.close();
  });

  async function token(client: { id: string; secret: string }): Promise<number> {
    const res = await fetch(`${f.base}/oauth/token`, {
      method: 'POST',
      headers: {
        authorization: basic(client.id, client.secret),
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: form({ grant_type: 'client_credentials' }),
    });
    await res.arrayBuffer();
    return res.status;
  }

  it('closes every dribbling socket with a 408 while /healthz and the token endpoint answer', async () => {
    const client = await f.client();
    const slow = SLOW_BODY.replace('AUTH', await bearer(f));
    const sockets = await Promise.all(Array.from({ length: FLOOD }, () => open(port, slow)));
    const drip = setInterval(() => {
      for (const s of sockets) if (!s.socket.destroyed) s.socket.write(' ');
    }, 50);
    try {
      // During the flood.
      expect((await fetch(`${f.base}/healthz`)).status).toBe(200);
      expect(await token(client)).toBe(200);
      await within(Promise.all(sockets.map((s) => s.closed)), 15_000, 'flood sockets closed');
    } finally {
      clearInterval(drip);
    }
    for (const s of sockets) {
      const got = s.received();
      expect(got.startsWith('HTTP/1.1 408 Request Timeout\r\n')).toBe(true);
      expect(bodyOf(got)).toEqual({
        error: {
          message: 'The request was not received within 900 ms',
          type: 'timeout_error',
          param: null,
          code: 'request_timeout',
        },
      });
    }
    // After the flood.
    expect((await fetch(`${f.base}/healthz`)).status).toBe(200);
    expect(await token(client)).toBe(200);
  });

  it('closes a socket that never finishes its headers, and an idle keep-alive socket', async () => {
    const slow = await open(port, 'GET /healthz HTTP/1.1\r\nhost: x\r\n');
    const silent = await open(port);
    const idle = await open(port, 'GET /healthz HTTP/1.1\r\nhost: x\r\n\r\n');
    await within(Promise.all([slow.closed, silent.closed, idle.closed]), 10_000, 'sockets closed');
    expect(slow.received()).toMatch(/^HTTP\/1\.1 408 /);
    expect(bodyOf(slow.received())).toMatchObject({
      error: { message: 'The request headers were not received within 300 ms' },
    });
    expect(idle.received()).toMatch(/^HTTP\/1\.1 200 /);
    expect(idle.received()).not.toMatch(/408/);
  });

  it('logs the flood in a line or two, not a line per socket', async () => {
    await f.app.close().catch(() => undefined);
    const edge = log.lines.filter((l) => l.reason !== undefined || l.reasons !== undefined);
    expect(edge.length).toBeLessThanOrEqual(3);
    const first = edge.find((l) => l.reason === 'request_timeout');
    expect(first).toMatchObject({ remote: '127.0.0.1', msg: expect.stringMatching(/408/) });
    const counted = edge.reduce(
      (n, l) => n + (l.reason === 'request_timeout' ? 1 : 0) + (l.reasons?.request_timeout ?? 0),
      0,
    );
    expect(counted).toBe(FLOOD);
    // Nothing per socket besides: the few lines left are the access lines of real requests.
    expect(log.lines.length).toBeLessThan(20);
  });
});

describe('an unauthenticated slow body', () => {
  let f: Fixture;
  let port: number;

  beforeAll(async () => {
    f = await startApp({ listen: true, realClock: true });
    port = Number(new URL(f.base).port);
  });
  afterAll(async () => {
    await f.close();
  });

  it('answers an unauthenticated request 401 before reading its body', async () => {
    const s = await open(port, SLOW_BODY.replace('authorization: AUTH\r\n', ''));
    // The body has 999 bytes still to come: the answer cannot have waited for it.
    await vi.waitFor(
      () => {
        expect(s.received()).toMatch(/^HTTP\/1\.1 401 /);
      },
      { timeout: 5000, interval: 20 },
    );
    s.socket.destroy();
  });
});

describe('limits answered in the shape of the route, over a socket', () => {
  let f: Fixture;
  let port: number;
  const log = capture();

  beforeAll(async () => {
    f = await startApp({
      listen: true,
      realClock: true,
      config: { server: { maxConnections: 20, headersTimeoutMs: 400, maxHeaderBytes: 8192 } },
      overrides: { logger: log.logger },
    });
    port = Number(new URL(f.base).port);
  });
  afterAll(async () => {
    await f.close();
  });

  async function exchange(request: string): Promise<string> {
    const s = await open(port, request.replace('AUTH', await bearer(f)));
    await within(s.closed, 10_000, 'answer');
    return s.received();
  }

  const big = `x-padding: ${'a'.repeat(10_000)}\r\n`;

  it.each([
    [
      '431 on /v1/*',
      `GET /v1/models HTTP/1.1\r\nhost: x\r\n${big}\r\n`,
      431,
      { error: { type: 'invalid_request_error', code: 'headers_too_large', param: null } },
    ],
    [
      '431 elsewhere',
      `GET /.well-known/jwks.json HTTP/1.1\r\nhost: x\r\n${big}\r\n`,
      431,
      { error: 'invalid_request' },
    ],
    [
      '413 on /v1/*',
      'POST /v1/embeddings HTTP/1.1\r\nhost: x\r\nconnection: close\r\nauthorization: AUTH\r\n' +
        'content-type: application/json\r\ncontent-length: 5000000\r\n\r\n',
      413,
      { error: { type: 'invalid_request_error', code: 'request_too_large' } },
    ],
    [
      '400 for a malformed URL',
      'GET /v1/models/%zz HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n',
      400,
      { error: { code: 'invalid_url' } },
    ],
  ])('%s', async (_name, request, status, shape) => {
    const got = await exchange(request);
    expect(got.startsWith(`HTTP/1.1 ${status} `)).toBe(true);
    expect(bodyOf(got)).toMatchObject(shape);
    if (status === 431) {
      expect(bodyOf(got)).toMatchObject(
        (shape as { error: unknown }).error === 'invalid_request'
          ? { error_description: 'The request line and headers must be at most 8192 bytes' }
          : { error: { message: 'The request line and headers must be at most 8192 bytes' } },
      );
    }
  });

  it('refuses connections beyond server.maxConnections, logs it, and recovers', async () => {
    const sockets = await Promise.all(Array.from({ length: 30 }, () => open(port)));
    await within(Promise.all(sockets.map((s) => s.closed)), 10_000, 'all closed');
    // Refused at once on accept: nothing written; the others were held until the header timeout.
    expect(sockets.filter((s) => s.received() === '').length).toBeGreaterThanOrEqual(10);
    expect(sockets.filter((s) => s.received().startsWith('HTTP/1.1 408')).length).toBe(20);
    expect((await fetch(`${f.base}/healthz`)).status).toBe(200);
    expect(log.lines).toContainEqual(
      expect.objectContaining({
        level: 40,
        reason: 'connection_cap',
        msg: 'connection refused: server.maxConnections reached',
      }),
    );
  });
});

describe('server.socketTimeoutMs', () => {
  let f: Fixture;
  const log = capture();

  beforeAll(async () => {
    f = await startApp({
      listen: true,
      realClock: true,
      config: {
        server: { socketTimeoutMs: 300 },
        models: [{ id: 'slow', backend: 'echo', task: 'generation', delayMs: 200 }],
      },
      overrides: { logger: log.logger },
    });
  });
  afterAll(async () => {
    await f.close();
  });

  it('closes a connection that stays silent longer than the limit, even mid-request', async () => {
    // The token comes in-process: over this server's socket a busy machine could itself take
    // longer than the 300 ms of silence allowed (scrypt and a durable audit commit).
    const token = (await bearer(f)).slice('Bearer '.length);
    const body = JSON.stringify({
      model: 'slow',
      messages: [{ role: 'user', content: 'one two three four five six seven eight nine ten' }],
    });
    const s = await open(
      Number(new URL(f.base).port),
      `POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\nauthorization: Bearer ${token}\r\n` +
        `content-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
    );
    await within(s.closed, 10_000, 'silent connection closed');
    expect(s.received()).toBe('');
    expect(log.lines).toContainEqual(
      expect.objectContaining({ reason: 'socket_timeout', remote: '127.0.0.1' }),
    );
  });
});
