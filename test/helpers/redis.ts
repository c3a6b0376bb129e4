/**
 * @module test/helpers/redis — the Redis the integration tests run against: REDIS_URL when it is
 * set and answers PING, else undefined (the suite is skipped, and says why).
 */
import { connect } from 'node:net';

/** True when a Redis at `url` answers PING within two seconds. */
function pings(url: string): Promise<boolean> {
  const u = new URL(url);
  return new Promise((resolve) => {
    const socket = connect(Number(u.port || 6379), u.hostname);
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(2000, () => {
      done(false);
    });
    socket.on('error', () => {
      done(false);
    });
    socket.on('connect', () => {
      socket.write('PING\r\n');
    });
    // A server with a password answers -NOAUTH: it is there, the suite's URL carries the password.
    socket.on('data', (d: Buffer) => {
      done(/^(\+PONG|-NOAUTH)/.test(d.toString()));
    });
  });
}

/** REDIS_URL if set and reachable; otherwise undefined, with a warning naming `suite`. */
export async function redisForTests(suite: string): Promise<string | undefined> {
  const url = process.env.REDIS_URL ?? '';
  if (url === '') {
    console.warn(`${suite}: skipped; set REDIS_URL=redis://127.0.0.1:6379 to run`);
    return undefined;
  }
  if (!(await pings(url))) {
    console.warn(`${suite}: skipped; REDIS_URL is set but Redis does not answer`);
    return undefined;
  }
  return url;
}
