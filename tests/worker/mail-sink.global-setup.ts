import type { TestProject } from "vitest/node";
import { startMailSink } from "../harness/http-mailbox.ts";

declare module "vitest" {
  interface ProvidedContext {
    /** The HTTP mail sink's base URL (`http://127.0.0.1:<port>`), for tests inside workerd. */
    mailSinkUrl: string;
  }
}

/**
 * Starts the HTTP mail sink in the Vitest process (Node) for the workers project; tests in
 * workerd reach it over fetch (tests/worker/http-mailbox.ts) at the URL provided here.
 */
export default async function setup(project: TestProject) {
  const sink = await startMailSink();
  project.provide("mailSinkUrl", sink.url);
  return () => sink.close();
}
