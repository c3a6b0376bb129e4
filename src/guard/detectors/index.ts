/**
 * @module guard/detectors — the built-in PII and secret detectors, one per file.
 */
import type { Detector } from '../types.js';
import { apiKeyDetector } from './api-key.js';
import { cardDetector } from './card.js';
import { emailDetector } from './email.js';
import { ibanDetector } from './iban.js';
import { ipDetector } from './ip.js';
import { jwtDetector } from './jwt.js';
import { phoneDetector } from './phone.js';
import { privateKeyDetector } from './private-key.js';
import { ssnDetector } from './ssn.js';

export { apiKeyDetector, cardDetector, emailDetector, ibanDetector, ipDetector, jwtDetector };
export { phoneDetector, privateKeyDetector, ssnDetector };
export { compileCustomPatterns, unsafeReason, UnsafePatternError } from './custom.js';
export type { CustomPattern } from './custom.js';

/** Every built-in PII/secret detector, fresh instances. */
export function builtinDetectors(): Detector[] {
  return [
    privateKeyDetector(),
    jwtDetector(),
    apiKeyDetector(),
    cardDetector(),
    ibanDetector(),
    ssnDetector(),
    emailDetector(),
    ipDetector(),
    phoneDetector(),
  ];
}
