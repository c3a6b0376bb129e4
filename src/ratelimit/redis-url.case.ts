/**
 * @module ratelimit/redis-url.case — test support: the Redis the tests use: REDIS_URL, else the local one at
 * 127.0.0.1:6379 when it answers; undefined (with a message saying how to run them) otherwise.
 */
import { connect } from 'node:net';

function answers(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port, timeout: 500 });
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.once('connect', () => {
      done(true);
    });
    socket.once('timeout', () => {
      done(false);
    });
    socket.once('error', () => {
      done(false);
    });
  });
}

/** The URL to test against, or undefined after a warning naming `suite`. */
export async function redisUrlForTests(suite: string): Promise<string | undefined> {
  const env = process.env.REDIS_URL;
  if (env !== undefined && env !== '') return env;
  if (await answers('127.0.0.1', 6379)) return 'redis://127.0.0.1:6379';
  console.warn(`${suite}: suite skipped; set REDIS_URL=redis://127.0.0.1:6379 to run`);
  return undefined;
}
