// `npm run dev:worker [-- wrangler dev args]`: runs Tessera in workerd with a local D1.
// 1. creates .dev.vars with a random TESSERA_SECRET when missing (gitignored; dev only);
// 2. applies the committed migrations to the local D1 (`wrangler d1 migrations apply --local`);
// 3. execs `wrangler dev` with every extra argument (--port, --var KEY:VALUE, --persist-to …).
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";

const args = process.argv.slice(2);
const wrangler = createRequire(import.meta.url).resolve("wrangler/bin/wrangler.js");
const env = { ...process.env, WRANGLER_SEND_METRICS: "false" };

if (!existsSync(".dev.vars")) {
  const secret = randomBytes(32).toString("base64url");
  writeFileSync(
    ".dev.vars",
    `# Local development only; never deploy this value.\nTESSERA_SECRET=${secret}\n`,
    {
      mode: 0o600,
    },
  );
  console.log("Created .dev.vars with a development TESSERA_SECRET");
}

// Migrations go to the same local state directory wrangler dev will use.
const persistAt = args.indexOf("--persist-to");
const persist = persistAt >= 0 ? ["--persist-to", args[persistAt + 1]] : [];
const migrate = spawnSync(
  process.execPath,
  [wrangler, "d1", "migrations", "apply", "DB", "--local", ...persist],
  { stdio: "inherit", env },
);
if (migrate.status !== 0) process.exit(migrate.status ?? 1);

const dev = spawnSync(process.execPath, [wrangler, "dev", ...args], { stdio: "inherit", env });
process.exit(dev.status ?? 0);
