/** @module cli/commands/serve — `gatehouse serve [--port] [--host] [--data-dir] [--config]`. */
import { parseArgs } from 'node:util';
import { serve } from '../../main.js';
import { COMMON_OPTIONS, configFrom, UsageError } from '../context.js';

export const usage = 'gatehouse serve [--port N] [--host H] [--data-dir DIR] [--config FILE]';

export async function run(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: { ...COMMON_OPTIONS, port: { type: 'string' }, host: { type: 'string' } },
  });
  const server: Record<string, unknown> = {};
  if (values.port !== undefined) {
    const port = Number(values.port);
    if (!Number.isInteger(port) || port < 0 || port > 65535)
      throw new UsageError('--port must be 0–65535');
    server.port = port;
  }
  if (values.host !== undefined) server.host = values.host;
  const config = configFrom(values, Object.keys(server).length > 0 ? { server } : {});
  await serve(config);
}
