/**
 * Runs `run` later, once: how a runtime says when a batch (group commit, batched user reads)
 * is sent. The Node entry's is `afterIoPhase` (`setImmediate`).
 */
export type Schedule = (run: () => void) => void;
