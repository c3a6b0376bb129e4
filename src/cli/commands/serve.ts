/** @module cli/commands/serve — `gatehouse serve [--port] [--host] [--data-dir] [--config]`. */
import { serve } from '../../main.js';
import { leaf, type Leaf } from '../command.js';
import { CONFIG_OPTIONS, configFrom, HELP_OPTION, SERVER_OPTIONS } from '../context.js';

export const command: Leaf = leaf({
  name: 'gatehouse serve',
  summary: 'run the server (also `npm start`)',
  synopsis: '[--port N] [--host H] [--data-dir DIR] [--config FILE]',
  description:
    'Listens first, then loads the models; /readyz answers 503 until every required model is\n' +
    'loaded. Stops, draining requests in flight, on SIGTERM or SIGINT.',
  options: { ...SERVER_OPTIONS, ...CONFIG_OPTIONS, ...HELP_OPTION },
  async run({ values }) {
    await serve(configFrom(values));
  },
});
