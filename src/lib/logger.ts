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
  return destination === undefined
    ? pino(options)
    : pino(options, destination as pino.DestinationStream);
}
