// `npm run screenshots`: starts the built Node server on a fresh temp database, opens its pages
// in headless Chromium through the browser test harness (other origins blocked) and saves PNGs
// under docs/screenshots/. Add a page to PAGES to add a screenshot. Names given take only
// those shots: `npm run screenshots -- sign-in-social sign-in-social-phone`.
import { execFile } from "node:child_process";
import { createHash, generateKeyPairSync, randomBytes } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Page } from "puppeteer-core";
import { randomSecret } from "../src/lib/random-id.ts";
import { launchBrowser, screenshot, waitForText } from "../tests/browser/harness.ts";
import { startServer } from "../tests/browser/server.ts";

const OUT = fileURLToPath(new URL("../docs/screenshots/", import.meta.url));

type Shot = {
  file: `${string}.png`;
  /** The path to open; a hosted page's comes from an emailed link, made on first use. */
  path: string | (() => Promise<string>);
  /** What to do on the page before the picture (e.g. submit a form). */
  act?: (page: Page) => Promise<unknown>;
  ready: (page: Page) => Promise<unknown>;
  /** A 360 px phone (2× pixels) instead of a 1280×800 desktop window. */
  phone?: boolean;
  dark?: boolean;
};

// The documented default issuer, so the pictures show the URLs the README uses. A database and
// secret of our own, so that the CLI can register the OAuth client the flow's pages are for.
const dir = await mkdtemp(join(tmpdir(), "tessera-screenshots-"));
const env = {
  PATH: process.env.PATH ?? "",
  DATABASE_URL: `file:${join(dir, "tessera.db")}`,
  TESSERA_SECRET: randomSecret(),
  LOG_LEVEL: "warn",
};
const server = await startServer({ ...env, ISSUER: "http://localhost:8787" });

const CLI = fileURLToPath(new URL("../dist/cli.js", import.meta.url));
const cli = (...args: string[]) =>
  new Promise<string>((resolve, reject) => {
    execFile(process.execPath, [CLI, ...args], { env }, (error, stdout, stderr) =>
      error ? reject(new Error(`${error.message}\n${stderr}`)) : resolve(stdout),
    );
  });

const EMAIL = "ada@example.com";

/**
 * The path of the newest `kind` link sent to {@link EMAIL} (the log transport's development
 * outbox), after `send` asked for it. A link is only read by these GETs, so all its shots
 * share it.
 */
function emailedLink(kind: string, send: () => Promise<Response>): () => Promise<string> {
  let path: Promise<string> | undefined;
  const find = async () => {
    const sent = await send();
    if (!sent.ok) throw new Error(`sending ${kind}: ${sent.status} ${await sent.text()}`);
    for (let i = 0; i < 50; i++) {
      const res = await fetch(`${server.url}/dev/outbox?to=${EMAIL}`);
      const { messages } = (await res.json()) as { messages: { kind: string; link?: string }[] };
      const link = messages.find((m) => m.kind === kind)?.link;
      if (link) return `${new URL(link).pathname}${new URL(link).search}`;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error(`no ${kind} message in the outbox`);
  };
  return () => {
    path ??= find();
    return path;
  };
}

const post = (path: string, body: unknown) =>
  fetch(`${server.url}${path}`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body),
  });

const verifyLink = emailedLink("verify_email", () =>
  post("/v1/signup", { email: EMAIL, password: "correct horse battery staple" }),
);
const resetLink = emailedLink("reset_password", async () => {
  await verifyLink(); // the account exists
  return post("/v1/password/forgot", { email: EMAIL });
});

/** A third-party app (asks for consent), registered through the CLI on first use. */
let clientId: Promise<string> | undefined;
const photoPrints = () => {
  clientId ??= cli(
    "clients",
    "create",
    "--name",
    "Photo Prints",
    "--grant-types",
    "authorization_code,refresh_token",
    "--redirect-uri",
    "https://prints.example/callback",
    "--post-logout-redirect-uri",
    "https://prints.example/",
    "--public",
    "--json",
  ).then((out) => (JSON.parse(out) as { client_id: string }).client_id);
  return clientId;
};

/** What the app sends the browser to: a fresh authorization request each time. */
const authorize = async () => {
  await verifyLink(); // the account exists
  return `/oauth/authorize?${new URLSearchParams({
    response_type: "code",
    client_id: await photoPrints(),
    redirect_uri: "https://prints.example/callback",
    scope: "openid profile email offline_access",
    state: randomBytes(8).toString("base64url"),
    code_challenge: createHash("sha256").update(randomBytes(32)).digest("base64url"),
    code_challenge_method: "S256",
  })}`;
};

/**
 * The sign-in page with social sign-in: Google, Apple and GitHub added through the CLI, once
 * (made-up credentials: the page only lists them; nothing is called until a button is used).
 */
let providersAdded: Promise<unknown> | undefined;
const socialAuthorize = async () => {
  providersAdded ??= (async () => {
    const p8 = join(dir, "AuthKey_ABCDE12345.p8");
    const { privateKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
    await writeFile(p8, privateKey.export({ type: "pkcs8", format: "pem" }) as string);
    await cli(
      "providers",
      "add",
      "google",
      "--client-id",
      "1234.apps.googleusercontent.com",
      "--client-secret",
      "GOCSPX-example",
    );
    await cli(
      "providers",
      "add",
      "apple",
      "--client-id",
      "com.example.tessera.web",
      "--team-id",
      "TEAM123456",
      "--key-id",
      "ABCDE12345",
      "--private-key-file",
      p8,
    );
    await cli(
      "providers",
      "add",
      "github",
      "--client-id",
      "Iv1.example",
      "--client-secret",
      "example",
    );
  })();
  await providersAdded;
  return authorize();
};

const logout = async () =>
  `/oauth/logout?${new URLSearchParams({
    client_id: await photoPrints(),
    post_logout_redirect_uri: "https://prints.example/",
    state: "s1",
  })}`;

const signIn = (password: string) => async (page: Page) => {
  await page.locator("::-p-aria(Email)").fill(EMAIL);
  await page.locator("::-p-aria(Password)").fill(password);
  await Promise.all([
    page.waitForNavigation({ waitUntil: "networkidle0" }),
    page.locator(`::-p-aria([name="Sign in"][role="button"])`).click(),
  ]);
};

/** The reset form sent with a password the policy refuses: the error beside the field. */
const submitShortPassword = async (page: Page) => {
  await page.locator("::-p-aria(New password)").fill("short");
  await Promise.all([
    page.waitForNavigation({ waitUntil: "networkidle0" }),
    page.locator("::-p-aria(Change password)").click(),
  ]);
};

const PAGES: Shot[] = [
  {
    file: "api-reference.png",
    path: "/docs",
    ready: (page) => waitForText(page, "Create an account and a session"),
  },
  ...(["", "-phone"] as const).flatMap((suffix): Shot[] => {
    const phone = suffix === "-phone";
    return [
      {
        file: `verify-email${suffix}.png`,
        path: verifyLink,
        ready: (page) => waitForText(page, "Verify email address"),
        phone,
      },
      {
        file: `reset-password${suffix}.png`,
        path: resetLink,
        ready: (page) => waitForText(page, "Choose a new password"),
        phone,
      },
      {
        file: `reset-password-error${suffix}.png`,
        path: resetLink,
        act: submitShortPassword,
        ready: (page) => waitForText(page, "Password must be at least"),
        phone,
      },
    ];
  }),
  {
    file: "reset-password-error-dark.png",
    path: resetLink,
    act: submitShortPassword,
    ready: (page) => waitForText(page, "Password must be at least"),
    dark: true,
  },
  // The authorization flow's pages, in the order a person meets them: signed out first (the
  // browser keeps its cookies between shots), then signed in.
  ...(["", "-phone"] as const).flatMap((suffix): Shot[] => {
    const phone = suffix === "-phone";
    return [
      {
        file: `sign-in${suffix}.png`,
        path: authorize,
        ready: (page) => waitForText(page, "Forgot password?"),
        phone,
      },
      {
        file: `sign-in-error${suffix}.png`,
        path: authorize,
        act: signIn("not my password"),
        ready: (page) => waitForText(page, "Wrong email or password"),
        phone,
      },
      {
        file: `sign-up${suffix}.png`,
        path: authorize,
        act: (page) =>
          Promise.all([
            page.waitForNavigation({ waitUntil: "networkidle0" }),
            page.locator(`::-p-aria([name="Create an account"][role="link"])`).click(),
          ]),
        ready: (page) => waitForText(page, "Create your account"),
        phone,
      },
      {
        file: `error${suffix}.png`,
        path: "/oauth/authorize?client_id=unknown&response_type=code",
        ready: (page) => waitForText(page, "This sign-in link is not valid"),
        phone,
      },
    ];
  }),
  // After the plain sign-in pages (which show no providers): social sign-in added.
  ...(["", "-phone"] as const).map(
    (suffix): Shot => ({
      file: `sign-in-social${suffix}.png`,
      path: socialAuthorize,
      ready: (page) => waitForText(page, "Continue with GitHub"),
      phone: suffix === "-phone",
    }),
  ),
  {
    file: "consent.png",
    path: authorize,
    act: signIn("correct horse battery staple"),
    ready: (page) => waitForText(page, "Allow Photo Prints to access your account?"),
  },
  ...(["-phone", "-dark"] as const).map(
    (suffix): Shot => ({
      file: `consent${suffix}.png`,
      path: authorize, // signed in now: straight to consent
      ready: (page) => waitForText(page, "Your email address"),
      phone: suffix === "-phone",
      dark: suffix === "-dark",
    }),
  ),
  ...(["", "-phone"] as const).map(
    (suffix): Shot => ({
      file: `logout${suffix}.png`,
      path: logout,
      ready: (page) => waitForText(page, "Sign out of Tessera?"),
      phone: suffix === "-phone",
    }),
  ),
];

async function take(shot: Shot) {
  const tab = await browser.openPage(server.url);
  if (shot.phone) {
    await tab.page.setViewport({
      width: 360,
      height: 740,
      deviceScaleFactor: 2,
      isMobile: true,
      hasTouch: true,
    });
  }
  if (shot.dark) {
    await tab.page.emulateMediaFeatures([{ name: "prefers-color-scheme", value: "dark" }]);
  }
  const path = typeof shot.path === "string" ? shot.path : await shot.path();
  await tab.page.goto(`${server.url}${path}`, { waitUntil: "networkidle0" });
  await shot.act?.(tab.page);
  await shot.ready(tab.page);
  if (tab.blocked.length > 0) {
    throw new Error(`${path} reached out:\n${tab.blocked.join("\n")}`);
  }
  await screenshot(tab.page, `${OUT}${shot.file}`);
  console.log(`docs/screenshots/${shot.file}`);
  await tab.page.close();
}

const browser = await launchBrowser().catch(async (error: unknown) => {
  await server.close();
  throw error;
});
try {
  const only = process.argv.slice(2);
  const unknown = only.filter((name) => !PAGES.some((shot) => shot.file === `${name}.png`));
  if (unknown.length > 0) throw new Error(`no such screenshot: ${unknown.join(", ")}`);
  for (const shot of PAGES) {
    if (only.length === 0 || only.includes(shot.file.replace(/\.png$/, ""))) await take(shot);
  }
} finally {
  await browser.close();
  await server.close();
  await rm(dir, { recursive: true, force: true });
}
