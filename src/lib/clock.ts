/** @module lib/clock — the time source, passed in so tests can freeze it. */

/** Returns the current time in milliseconds since the epoch. */
export type Clock = () => number;

/** The real clock. */
export const systemClock: Clock = () => Date.now();

/** Whole seconds since the epoch, as JWT NumericDate values use. */
export function epochSeconds(clock: Clock): number {
  return Math.floor(clock() / 1000);
}
