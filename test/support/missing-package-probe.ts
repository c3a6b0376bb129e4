/**
 * @module test/support/missing-package-probe — run in a child process with hide-packages.ts:
 * loads one backend (`onnx PATH`, `llama-cpp PATH` or `sqlite FILE`) and prints how it ended as
 * one JSON line, `{"loaded":true}` or `{"name","code","message"}`.
 */
import { GatewayError } from '../../src/errors.js';
import { modelSpec } from './model-spec.js';

const [backend, path] = process.argv.slice(2);

async function attempt(): Promise<void> {
  if (path === undefined) throw new Error('usage: missing-package-probe BACKEND PATH');
  if (backend === 'onnx') {
    const { loadModel } = await import('../../src/inference/backends/onnx/index.js');
    const handle = await loadModel(modelSpec({ id: 'probe', backend: 'onnx', path }));
    await handle.close();
  } else if (backend === 'llama-cpp') {
    const { loadModel } = await import('../../src/inference/backends/llama-cpp/index.js');
    const handle = await loadModel(modelSpec({ id: 'probe', backend: 'llama-cpp', path }));
    await handle.close();
  } else if (backend === 'sqlite') {
    const { openSqliteStore } = await import('../../src/store/backends/sqlite.js');
    const store = await openSqliteStore(path);
    await store.close();
  } else {
    throw new Error(`unknown backend ${String(backend)}`);
  }
}

try {
  await attempt();
  console.log(JSON.stringify({ loaded: true }));
} catch (err) {
  const name = err instanceof Error ? err.constructor.name : typeof err;
  const code = err instanceof GatewayError ? err.code : undefined;
  const message = err instanceof Error ? err.message : String(err);
  console.log(JSON.stringify({ name, code, message }));
}
process.exit(0);
