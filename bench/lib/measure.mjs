// Measuring: autocannon for HTTP, a bounded concurrent loop for in-process operations.
import { readFileSync } from "node:fs";
import autocannon from "autocannon";

/**
 * How often this process's main thread (where autocannon runs) has gone to sleep so far: its
 * voluntary context switches (Linux; undefined elsewhere). Each is a wait for a response
 * that was not there yet, and waking it again is work the server's write pays for on
 * loopback (docs/performance.md#fifth-pass-what-the-jwks-ratio-measures).
 */
function sleepsSoFar() {
  try {
    const status = readFileSync(`/proc/self/task/${process.pid}/status`, "utf8");
    const match = /^voluntary_ctxt_switches:\s+(\d+)/m.exec(status);
    return match ? Number(match[1]) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Runs autocannon; returns requests/s, p50 and p99 latency (ms), the error count, and how
 * often the load generator slept per response (`client_sleeps`: near 0 when the server
 * keeps it busy, about 1 when it waits for every response; above 1 when responses are slower
 * than autocannon's own timers). It counts the whole thread: meaningless for a run that
 * overlaps another load from this process.
 */
export async function load(options) {
  const before = sleepsSoFar();
  const result = await autocannon({ pipelining: 1, ...options });
  const after = sleepsSoFar();
  const responses = result.requests.total;
  return {
    rps: Math.round(result.requests.average * 10) / 10,
    p50_ms: result.latency.p50,
    p99_ms: result.latency.p99,
    errors: result.errors + result.timeouts + result.non2xx,
    client_sleeps:
      before === undefined || after === undefined || responses === 0
        ? undefined
        : Math.round(((after - before) / responses) * 100) / 100,
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
