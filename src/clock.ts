/** Source of the current time, injected so tests move time instead of sleeping. */
export type Clock = {
  /** Milliseconds since the epoch. */
  now(): number;
};

/** The wall clock. */
export const systemClock: Clock = { now: () => Date.now() };
