// Measuring: autocannon for HTTP, a bounded concurrent loop for in-process operations.
import autocannon from "autocannon";

/** Runs autocannon; returns requests/s, p50 and p99 latency (ms) and the error count. */
export async function load(options) {
  const result = await autocannon({ pipelining: 1, ...options });
  return {
    rps: Math.round(result.requests.average * 10) / 10,
    p50_ms: result.latency.p50,
    p99_ms: result.latency.p99,
    errors: result.errors + result.timeouts + result.non2xx,
  };
}

/**
 * Loads `target` for `options` (`connections`, `duration`): a URL (with its headers), or
 * refresh chains at `url`, which are settled after the run (bench/lib/refresh-chains.mjs).
 */
export function loadTarget({ chains, ...target }, options) {
  return chains ? chains.run(target.url, options) : load({ ...target, ...options });
}

/**
 * Runs `operation` from `concurrency` loops for `durationMs`; returns operations/s and the
 * p50/p99 of single operations (ms). Bounded by time, so it always ends.
 */
export async function loop(operation, { concurrency = 1, durationMs }) {
  const latencies = [];
  let errors = 0;
  let completedInTime = 0;
  const started = performance.now();
  const deadline = started + durationMs;
  await Promise.all(
    Array.from({ length: concurrency }, async (_, worker) => {
      let i = 0;
      while (performance.now() < deadline) {
        const t0 = performance.now();
        try {
          await operation(worker, i++);
        } catch {
          errors++;
        }
        const t1 = performance.now();
        latencies.push(t1 - t0);
        // Rate over the window only: an operation still running at the deadline (a 300 ms
        // hash) would otherwise stretch the denominator.
        if (t1 <= deadline) completedInTime++;
      }
    }),
  );
  latencies.sort((a, b) => a - b);
  const pick = (q) =>
    Math.round((latencies[Math.floor(q * (latencies.length - 1))] ?? 0) * 1000) / 1000;
  return {
    rps: Math.round((completedInTime / (durationMs / 1000)) * 10) / 10,
    p50_ms: pick(0.5),
    p99_ms: pick(0.99),
    errors,
  };
}
