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
  /** Stops forwarding in both directions; connections stay open, new ones hang. */
  stall(): void;
  /** Forwards new connections again (connections held by a stall are reset first). */
  restore(): void;
  close(): Promise<void>;
}

/** Starts a proxy to `target` (host and port of the real service). */
export async function startTcpProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  const open = new Set<Socket>();
  const pairs = new Set<[Socket, Socket]>();
  let isCut = false;
  let accepted = 0;
  const drop = (s: Socket): void => {
    // A reset, not a FIN: what a peer that vanished looks like to the driver.
    if (!s.destroyed) s.resetAndDestroy();
  };
  let stalled = false;
  const held = new Set<Socket>();
  const server: Server = createServer((client) => {
    if (isCut) {
      client.on('error', () => undefined);
      drop(client);
      return;
    }
    if (stalled) {
      // Accepted, never answered: what a connect into a partition looks like after SYN-ACK.
      client.on('error', () => undefined);
      client.pause();
      held.add(client);
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
    pairs.add([client, upstream]);
    client.on('close', () => {
      for (const p of pairs) if (p[0] === client) pairs.delete(p);
    });
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
    stall() {
      stalled = true;
      for (const [client, upstream] of pairs) {
        client.unpipe(upstream);
        upstream.unpipe(client);
        client.pause();
        upstream.pause();
      }
    },
    restore() {
      if (stalled) {
        // What was sent into the partition is gone: those connections end as a peer reset.
        for (const s of [...open, ...held]) drop(s);
        held.clear();
      }
      stalled = false;
      isCut = false;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of [...open, ...held]) drop(s);
        server.close(() => {
          resolve();
        });
      }),
  };
}
