/**
 * @module http/edge — what the server does about connections before Fastify sees a request:
 * header, request (body included) and keep-alive timeouts, an inactivity timeout, a cap on open
 * connections, and the answer when one of them fires. A slow client gets a 408 (in the shape of
 * the route it was calling, when one can still be written) and its socket is closed, so no
 * number of dribbling sockets can hold file descriptors for ever; every close is counted in
 * {@link EdgeLog}.
 */
import type { Server } from 'node:http';
import type { Socket } from 'node:net';
import type { Config } from '../config/index.js';
import type { EdgeLog, EdgeReason } from './edge-log.js';
import { openAIType } from './errors.js';

/** What Node passes with `clientError`. */
type ClientError = Error & { code?: string; rawPacket?: unknown };

/** The Fastify constructor options this module decides. */
export interface EdgeOptions {
  connectionTimeout: number;
  keepAliveTimeout: number;
  requestTimeout: number;
  maxRequestsPerSocket: number;
  http: { headersTimeout: number; connectionsCheckingInterval: number; maxHeaderSize: number };
  clientErrorHandler: (err: ClientError, socket: Socket) => void;
}

const TITLE: Readonly<Record<number, string>> = {
  400: 'Bad Request',
  408: 'Request Timeout',
  431: 'Request Header Fields Too Large',
};

type HttpSocket = Socket & {
  _httpMessage?: { req?: { url?: string }; headersSent?: boolean } | null;
};

/** Whether a request on `socket` has been handed to Fastify and not yet answered. */
const inFlight = (socket: Socket): boolean => (socket as HttpSocket)._httpMessage != null;

/** The path of the request a socket was receiving, when Node got far enough to know it. */
function pathOf(err: ClientError, socket: Socket): string | undefined {
  // A dispatched request (headers complete, body still coming) has its response on the socket.
  const res = (socket as HttpSocket)._httpMessage;
  if (res?.req?.url !== undefined) return res.req.url;
  const raw = err.rawPacket;
  if (!Buffer.isBuffer(raw)) return undefined;
  return /^[A-Z]{3,10} (\S{1,2048}) HTTP\/1\.[01]\r?\n/.exec(raw.toString('latin1', 0, 2100))?.[1];
}

/** A complete HTTP/1.1 error answer, in the route's shape (OpenAI unless clearly not `/v1/`). */
function rawAnswer(
  status: number,
  message: string,
  code: string,
  path: string | undefined,
): string {
  const openai = path === undefined || path.startsWith('/v1/');
  const body = JSON.stringify(
    openai
      ? { error: { message, type: openAIType(status), param: null, code } }
      : { error: 'invalid_request', error_description: message },
  );
  return (
    `HTTP/1.1 ${status} ${TITLE[status] ?? 'Error'}\r\nconnection: close\r\n` +
    `content-type: application/json; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`
  );
}

/** Fastify options for the configured limits, with the client-error answer. */
export function edgeOptions(s: Config['server'], log: EdgeLog): EdgeOptions {
  const clientErrorHandler = (err: ClientError, socket: Socket): void => {
    if (err.code === 'ECONNRESET' || socket.destroyed) return;
    const path = pathOf(err, socket);
    let status: number;
    let reason: EdgeReason;
    let message: string;
    let code: string;
    if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') {
      const started = inFlight(socket);
      status = 408;
      reason = started ? 'request_timeout' : 'headers_timeout';
      message = started
        ? `The request was not received within ${s.requestTimeoutMs} ms`
        : `The request headers were not received within ${s.headersTimeoutMs} ms`;
      code = 'request_timeout';
    } else if (err.code === 'HPE_HEADER_OVERFLOW') {
      status = 431;
      reason = 'header_overflow';
      message = `The request line and headers must be at most ${s.maxHeaderBytes} bytes`;
      code = 'headers_too_large';
    } else {
      status = 400;
      reason = 'bad_request';
      message = 'The request is not valid HTTP/1.1';
      code = 'invalid_request';
    }
    log.note(reason, socket.remoteAddress);
    // As Node does: answer only if no part of a response has gone out on this socket yet.
    if (socket.writable && (socket as HttpSocket)._httpMessage?.headersSent !== true) {
      socket.write(rawAnswer(status, message, code, path));
    }
    socket.destroy();
  };
  return {
    connectionTimeout: s.socketTimeoutMs,
    keepAliveTimeout: s.keepAliveTimeoutMs,
    requestTimeout: s.requestTimeoutMs,
    maxRequestsPerSocket: s.maxRequestsPerSocket,
    http: {
      headersTimeout: s.headersTimeoutMs,
      // Node checks the two timeouts on this interval (default 30 s): a quarter of the shorter.
      connectionsCheckingInterval: Math.min(1000, Math.max(10, Math.floor(s.headersTimeoutMs / 4))),
      maxHeaderSize: s.maxHeaderBytes,
    },
    clientErrorHandler,
  };
}

/** Applies the connection cap and logs what the cap and the inactivity timeout close. */
export function guardServer(server: Server, s: Config['server'], log: EdgeLog): void {
  server.maxConnections = s.maxConnections;
  server.on('drop', (data?: { remoteAddress?: string }) => {
    log.note('connection_cap', data?.remoteAddress);
  });
  if (s.socketTimeoutMs > 0) {
    // With a listener Node leaves the socket open: close it here, as it would.
    server.on('timeout', (socket: Socket) => {
      // Node also times out idle keep-alive sockets this way: those are no news.
      if (inFlight(socket)) log.note('socket_timeout', socket.remoteAddress);
      socket.destroy();
    });
  }
}
