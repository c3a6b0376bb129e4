/**
 * @module test/revocation-purge.test — the server drops revocations of expired tokens by
 * itself (on the revocation sync timer), so the table does not grow for ever.
 */
import { afterAll, beforeAll, expect, it, vi } from 'vitest';
import { startApp, type Fixture } from './support/app-fixture.js';

let f: Fixture;

beforeAll(async () => {
  f = await startApp({ config: { auth: { revocationSyncInterval: 1 } } });
});

afterAll(() => f.close());

it('purges the revocations of expired tokens in the background and keeps the live ones', async () => {
  const now = Math.floor(f.now / 1000);
  await f.app.store.revocations.add({ jti: 'expired-token', exp: now - 1 });
  await f.app.store.revocations.add({ jti: 'live-token', exp: now + 600 });
  await vi.waitFor(
    async () => {
      const { items } = await f.app.store.revocations.since(0);
      expect(items.map((r) => r.jti)).toEqual(['live-token']);
    },
    { timeout: 5000, interval: 100 },
  );
});
