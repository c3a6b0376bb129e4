/**
 * @module lib/logger — pino with redaction: credentials, tokens, secrets and prompt text never
 * reach a log line, and logged URLs lose their query string.
 */
import { pino, type Logger } from 'pino';

/** Paths pino censors wherever they appear in a logged object. */
const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers.dpop',
  'req.headers.cookie',
  'headers.authorization',
  'headers.dpop',
  '*.client_secret',
  '*.client_assertion',
  '*.refresh_token',
  '*.access_token',
  '*.token',
  '*.password',
  '*.masterKey',
  '*.messages',
  '*.prompt',
  '*.input',
];

/**
 * stdout (one for the process), written once per event-loop turn instead of once per line: under load the lines of
 * every request handled in a turn share one write (a syscall per log line cost as much as the
 * rest of a request's logging), and at low traffic a line still goes out within the turn. What
 * is buffered is written synchronously on exit, so only a SIGKILL can lose a turn's lines.
 */
let stdout: pino.DestinationStream | undefined;

function stdoutByTurn(): pino.DestinationStream {
  stdout ??= batchedStdout();
  return stdout;
}

function batchedStdout(): pino.DestinationStream {
  // sonic-boom, synchronous: one write(2) per call, retried on EAGAIN (a full pipe).
  const out = pino.destination({ dest: 1, sync: true });
  let pending = '';
  const flush = (): void => {
    if (pending === '') return;
    const lines = pending;
    pending = '';
    out.write(lines);
  };
  process.once('exit', flush);
  return {
    write(line: string): void {
      if (pending === '') setImmediate(flush);
      pending += line;
    },
  };
}

/** Creates the server logger at `level`. `destination` lets tests capture the output. */
export function createLogger(level: string, destination?: NodeJS.WritableStream): Logger {
  const options = {
    level,
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    serializers: {
      req: (req: { method?: string; url?: string; id?: string }) => ({
        id: req.id,
        method: req.method,
        url: req.url?.split('?')[0],
      }),
    },
  };
  return pino(options, (destination as pino.DestinationStream | undefined) ?? stdoutByTurn());
}
