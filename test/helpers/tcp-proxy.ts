/**
 * @module test/helpers/tcp-proxy — a TCP proxy on loopback that a fault test can cut and
 * restore: put it between the server and PostgreSQL (or Redis), `cut()` to drop every open
 * connection with a reset and refuse new ones (as a database that went away), `restore()` to
 * forward again. The port stays bound throughout, so the URL never changes.
 */
import { connect, createServer, type Server, type Socket } from 'node:net';

/** A running proxy. */
export interface TcpProxy {
  /** The port it listens on (127.0.0.1). */
  readonly port: number;
  /** Connections forwarded since it started. */
  readonly accepted: number;
  /** Whether it refuses connections now. */
  readonly isCut: boolean;
  /** Resets every open connection and refuses new ones until `restore()`. */
  cut(): void;
  /** Forwards new connections again. */
  restore(): void;
  close(): Promise<void>;
}

/** Starts a proxy to `target` (host and port of the real service). */
export async function startTcpProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  const open = new Set<Socket>();
  let isCut = false;
  let accepted = 0;
  const drop = (s: Socket): void => {
    // A reset, not a FIN: what a peer that vanished looks like to the driver.
    if (!s.destroyed) s.resetAndDestroy();
  };
  const server: Server = createServer((client) => {
    if (isCut) {
      client.on('error', () => undefined);
      drop(client);
      return;
    }
    accepted++;
    const upstream = connect(target.port, target.host);
    for (const s of [client, upstream]) {
      open.add(s);
      s.on('error', () => {
        drop(client);
        drop(upstream);
      });
      s.on('close', () => {
        open.delete(s);
        if (s === client) upstream.destroy();
        else client.destroy();
      });
    }
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      resolve();
    });
  });
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  return {
    port,
    get accepted() {
      return accepted;
    },
    get isCut() {
      return isCut;
    },
    cut() {
      isCut = true;
      for (const s of open) drop(s);
    },
    restore() {
      isCut = false;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of open) drop(s);
        server.close(() => {
          resolve();
        });
      }),
  };
}
