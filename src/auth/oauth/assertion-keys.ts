/**
 * @module auth/oauth/assertion-keys — a private_key_jwt client's public keys, imported once and
 * kept per client; the entry is rebuilt when the stored key set changes (a re-registered or
 * edited client), compared by its JSON. Stored keys are validated (auth/jwk) before import; one
 * that fails validation or import is skipped, never cast.
 */
import { importJWK, type CryptoKey, type JWK } from 'jose';
import type { ClientRecord } from '../../store/index.js';
import { parsePublicJwk } from '../jwk.js';

interface Entry {
  json: string;
  keys: JWK[];
  /** `${index}:${alg}` → imported key, or null when it does not import for that alg. */
  imported: Map<string, CryptoKey | null>;
}

/** Imported client keys, at most `max` clients (least recently built first out). */
export class AssertionKeys {
  readonly #entries = new Map<string, Entry>();
  readonly #max: number;

  constructor(max = 1000) {
    this.#max = max;
  }

  #entry(client: ClientRecord): Entry {
    const json = JSON.stringify(client.jwks ?? []);
    const hit = this.#entries.get(client.id);
    if (hit?.json === json) return hit;
    const keys: JWK[] = [];
    for (const raw of client.jwks ?? []) {
      const r = parsePublicJwk(raw);
      if ('jwk' in r) keys.push(r.jwk);
    }
    const entry: Entry = { json, keys, imported: new Map() };
    this.#entries.delete(client.id);
    if (this.#entries.size >= this.#max) {
      const oldest = this.#entries.keys().next();
      if (oldest.done !== true) this.#entries.delete(oldest.value);
    }
    this.#entries.set(client.id, entry);
    return entry;
  }

  /** The client's keys usable with `alg` (a key naming another alg is left out). */
  async forAlg(client: ClientRecord, alg: string): Promise<CryptoKey[]> {
    const entry = this.#entry(client);
    const out: CryptoKey[] = [];
    for (const [i, jwk] of entry.keys.entries()) {
      if (jwk.alg !== undefined && jwk.alg !== alg) continue;
      const slot = `${i}:${alg}`;
      let key = entry.imported.get(slot);
      if (key === undefined) {
        key = await importJWK(jwk, alg).then(
          (k) => (k instanceof Uint8Array ? null : k),
          () => null,
        );
        entry.imported.set(slot, key);
      }
      if (key !== null) out.push(key);
    }
    return out;
  }
}
