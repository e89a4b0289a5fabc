import { onTestFinished } from "vitest";
import type { Harness, HarnessFactory } from "./types.ts";

/**
 * Opens a harness for the running test and closes it when that test finishes, passed or
 * failed, so a failing assertion leaves no database, temp dir or client behind. Call it
 * inside a test (not in a `beforeAll`). Closing it earlier by hand is fine: `close` runs once.
 */
export async function openHarness(
  createHarness: HarnessFactory,
  env?: Record<string, string>,
): Promise<Harness> {
  const h = await createHarness(env);
  onTestFinished(() => h.close());
  return h;
}
