import type { TestProject } from "vitest/node";
import { openNodeDatabase } from "../../src/db/libsql-node.ts";
import { MIGRATIONS } from "../harness/node.ts";
import { startSqld } from "../harness/sqld.ts";

declare module "vitest" {
  interface ProvidedContext {
    /** A libSQL server (sqld) with the migrations applied, for the Worker over DATABASE_URL. */
    sqldUrl: string;
  }
}

/**
 * Starts a libSQL server (sqld) in the Vitest process (Node) for the workers project and applies
 * the migrations the way the README's Workers + Turso setup does: the Node opener (`npm start`)
 * with the same URL, since the Worker never migrates. Tests in workerd reach it at
 * inject("sqldUrl").
 */
export default async function setup(project: TestProject) {
  const sqld = await startSqld();
  try {
    const { client } = await openNodeDatabase({ url: sqld.url, migrationsFolder: MIGRATIONS });
    client.close();
  } catch (error) {
    await sqld.stop();
    throw error;
  }
  project.provide("sqldUrl", sqld.url);
  return () => sqld.stop();
}
