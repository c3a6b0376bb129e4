/** @module http/types — request decorations added by the pipeline. */
import type { VerifiedToken } from '../auth/index.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The verified caller, set by the authenticate hook on protected routes. */
    identity?: VerifiedToken;
    /** Whether the request used the DPoP scheme (changes the challenge scheme). */
    dpopUsed?: boolean;
  }
  interface FastifyContextConfig {
    /** Scope a protected route requires; routes without it are public. */
    scope?: string;
  }
}
