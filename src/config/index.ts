/** @module config — the public surface of the configuration area. */
export { loadConfig, envToTree, type Config, type LoadOptions } from './load.js';
export {
  configSchema,
  modelSpec,
  SIGNING_ALGS,
  VERIFY_ALGS,
  type ConfigInput,
  type BackendName,
  type ModelConfig,
  type ModelConfigOf,
  type TrustedIssuerConfig,
} from './schema.js';
