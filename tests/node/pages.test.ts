import { describe, expect, it } from "vitest";
import { ConfigError, parseConfig } from "../../src/config.ts";
import { PAGE_CSP } from "../../src/pages/render.ts";
import { textOn } from "../../src/pages/theme.ts";
import { createNodeHarness } from "../harness/node.ts";
import { openHarness } from "../harness/open.ts";
import type { Harness } from "../harness/types.ts";

// The hosted pages the emailed links open (docs/decisions.md, "Hosted pages"), through
// `app.request`: a GET uses nothing, a POST needs the page's CSRF field and cookie, a refused
// password leaves the link working, and nothing signs anyone in.

const PASSWORD = "correct horse battery staple";
const NEW_PASSWORD = "a brand new passphrase";

const json = (body: unknown, headers: Record<string, string> = {}): RequestInit => ({
  method: "POST",
  headers: { "Content-Type": "application/json", ...headers },
  body: JSON.stringify(body),
});

/** The next message to `to` in the development outbox (sends run in the background). */
async function mailTo(h: Harness, to: string, kind: string): Promise<{ link: string }> {
  for (let i = 0; i < 100; i++) {
    const res = await h.request(`/dev/outbox?to=${encodeURIComponent(to)}`);
    const { messages } = (await res.json()) as { messages: { kind: string; link?: string }[] };
    const found = messages.find((m) => m.kind === kind && m.link);
    if (found?.link) return { link: found.link };
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`no ${kind} message to ${to}`);
}

async function signup(h: Harness, email: string) {
  const res = await h.request("/v1/signup", json({ email, password: PASSWORD }));
  expect(res.status).toBe(201);
  return (await res.json()) as { access_token: string; refresh_token: string };
}

/** `http://localhost:8787/verify-email?token=…` → `/verify-email?token=…`. */
const pathOf = (link: string) => {
  const url = new URL(link);
  return `${url.pathname}${url.search}`;
};

/** A browser's view of one page: its cookie and its form's hidden fields. */
async function openForm(h: Harness, path: string) {
  const res = await h.request(path);
  const html = await res.text();
  const setCookie = res.headers.get("Set-Cookie") ?? "";
  const cookie = setCookie.split(";")[0] ?? "";
  const hidden = (name: string) =>
    new RegExp(`<input type="hidden" name="${name}" value="([^"]*)"`).exec(html)?.[1];
  return { res, html, setCookie, cookie, csrf: hidden("csrf"), token: hidden("token") };
}

const post = (h: Harness, path: string, fields: Record<string, string>, cookie?: string) =>
  h.request(path, {
    method: "POST",
    headers: {
      "Content-Type": "application/x-www-form-urlencoded",
      ...(cookie ? { Cookie: cookie } : {}),
    },
    body: new URLSearchParams(fields).toString(),
  });

async function me(h: Harness, accessToken: string) {
  const res = await h.request("/v1/me", { headers: { Authorization: `Bearer ${accessToken}` } });
  return (await res.json()) as { email: string; email_verified: boolean };
}

const login = (h: Harness, email: string, password: string) =>
  h.request("/v1/login", json({ email, password }));

describe("GET/POST /verify-email", () => {
  it("GET shows one button and uses nothing; the POST verifies without signing in", async () => {
    const h = await openHarness(createNodeHarness);
    const { access_token } = await signup(h, "ada@example.com");
    const { link } = await mailTo(h, "ada@example.com", "verify_email");
    expect(link).toMatch(/^http:\/\/localhost:8787\/verify-email\?token=[\w-]{43}$/);

    // Mail scanners and previews: any number of GETs, nothing used.
    for (let i = 0; i < 3; i++) expect((await h.request(pathOf(link))).status).toBe(200);
    const page = await openForm(h, pathOf(link));
    expect(page.res.status).toBe(200);
    expect(page.res.headers.get("Content-Type")).toBe("text/html; charset=UTF-8");
    expect(page.res.headers.get("Content-Security-Policy")).toBe(PAGE_CSP);
    expect(page.res.headers.get("Cache-Control")).toBe("no-store");
    expect(page.html).toMatch(/^<!doctype html><html lang="en">/);
    expect(page.html).toContain("<title>Verify your email address · Tessera</title>");
    expect(page.html).toContain('<form method="post" action="/verify-email">');
    expect(page.html).toContain(
      '<button class="button" type="submit">Verify email address</button>',
    );
    expect(page.html).toContain("<strong>ada@example.com</strong>");
    expect(page.html).not.toMatch(/<script|style=|<style/);
    expect(page.setCookie).toMatch(/^tessera_form=[\w-]{43}; Path=\/; HttpOnly; SameSite=Lax$/);
    expect(page.token).toBe(new URL(link).searchParams.get("token"));
    expect((await me(h, access_token)).email_verified).toBe(false);

    const done = await post(
      h,
      "/verify-email",
      { csrf: page.csrf as string, token: page.token as string },
      page.cookie,
    );
    expect(done.status).toBe(200);
    expect(done.headers.get("Content-Security-Policy")).toBe(PAGE_CSP);
    expect(done.headers.get("Set-Cookie")).toBeNull(); // no session cookie, nothing signed in
    const html = await done.text();
    expect(html).toContain("<h1>Your email address is verified</h1>");
    expect(html).not.toMatch(/access_token|refresh_token/);
    expect((await me(h, access_token)).email_verified).toBe(true);
    const sessions = await h.request("/v1/sessions", {
      headers: { Authorization: `Bearer ${access_token}` },
    });
    expect(((await sessions.json()) as { sessions: unknown[] }).sessions).toHaveLength(1);

    // Used: the same form again, and the link, now show the error page.
    const again = await post(
      h,
      "/verify-email",
      { csrf: page.csrf as string, token: page.token as string },
      page.cookie,
    );
    expect(again.status).toBe(400);
    expect(await again.text()).toContain("This link is no longer valid");
    expect((await h.request(pathOf(link))).status).toBe(400);
  });

  it("a change_email link confirms the new address with its own wording", async () => {
    const h = await openHarness(createNodeHarness);
    const { access_token } = await signup(h, "grace@example.com");
    const res = await h.request(
      "/v1/email",
      json(
        { new_email: "grace@new.example", password: PASSWORD },
        { Authorization: `Bearer ${access_token}` },
      ),
    );
    expect(res.status).toBe(202);
    const { link } = await mailTo(h, "grace@new.example", "change_email");
    expect(new URL(link).pathname).toBe("/verify-email");

    const page = await openForm(h, pathOf(link));
    expect(page.html).toContain("<title>Confirm your new email address · Tessera</title>");
    expect(page.html).toContain(">Confirm new address</button>");
    expect(page.html).toContain("<strong>grace@new.example</strong>");
    expect((await me(h, access_token)).email).toBe("grace@example.com");

    const done = await post(
      h,
      "/verify-email",
      { csrf: page.csrf as string, token: page.token as string },
      page.cookie,
    );
    expect(done.status).toBe(200);
    expect(await done.text()).toContain(
      "Your account now uses <strong>grace@new.example</strong>.",
    );
    expect((await me(h, access_token)).email).toBe("grace@new.example");
  });

  it("an unknown, malformed or missing token shows the error page, never a redirect", async () => {
    const h = await openHarness(createNodeHarness);
    for (const path of [
      `/verify-email?token=${"A".repeat(43)}`,
      "/verify-email?token=short",
      "/verify-email",
      `/reset-password?token=${"A".repeat(43)}`,
      "/reset-password",
    ]) {
      const res = await h.request(path);
      expect(res.status, path).toBe(400);
      expect(res.headers.get("Content-Security-Policy"), path).toBe(PAGE_CSP);
      const html = await res.text();
      expect(html, path).toContain("<h1>This link is no longer valid</h1>");
      expect(html, path).not.toContain("<form");
    }
  });
});

/** `value` with its last character replaced by a different one. */
const tampered = (value: string) => `${value.slice(0, -1)}${value.endsWith("A") ? "E" : "A"}`;

describe("CSRF on the pages' forms", () => {
  it("refuses a POST without the field, without the cookie, or with another's; the link still works", async () => {
    const h = await openHarness(createNodeHarness);
    const { access_token } = await signup(h, "lin@example.com");
    const { link } = await mailTo(h, "lin@example.com", "verify_email");
    const page = await openForm(h, pathOf(link));
    const other = await openForm(h, pathOf(link)); // a second browser: its own cookie
    expect(other.cookie).not.toBe(page.cookie);
    const token = page.token as string;
    const csrf = page.csrf as string;

    const refused = [
      post(h, "/verify-email", { token }, page.cookie),
      post(h, "/verify-email", { token, csrf: "" }, page.cookie),
      post(h, "/verify-email", { token, csrf }),
      post(h, "/verify-email", { token, csrf: other.csrf as string }, page.cookie),
      // One character changed (the last one encodes 4 bits: A, E, I, …; never keep it equal).
      post(h, "/verify-email", { token, csrf: tampered(csrf) }, page.cookie),
      // The MAC of this cookie for the other form.
      (async () => {
        const reset = await h.request("/v1/password/forgot", json({ email: "lin@example.com" }));
        expect(reset.status).toBe(202);
        const mail = await mailTo(h, "lin@example.com", "reset_password");
        const resetPage = await h.request(pathOf(mail.link), { headers: { Cookie: page.cookie } });
        const resetCsrf = /name="csrf" value="([^"]*)"/.exec(await resetPage.text())?.[1];
        expect(resetCsrf).toBeDefined();
        expect(resetCsrf).not.toBe(csrf);
        return post(h, "/verify-email", { token, csrf: resetCsrf as string }, page.cookie);
      })(),
      h.request("/verify-email", {
        method: "POST",
        headers: {
          "Content-Type": "application/x-www-form-urlencoded",
          Cookie: page.cookie,
          "Sec-Fetch-Site": "cross-site",
        },
        body: new URLSearchParams({ token, csrf }).toString(),
      }),
    ];
    for (const res of await Promise.all(refused)) {
      expect(res.status).toBe(403);
      expect(res.headers.get("Content-Security-Policy")).toBe(PAGE_CSP);
      expect(await res.text()).toContain("<h1>This form could not be sent</h1>");
    }
    expect((await me(h, access_token)).email_verified).toBe(false);

    // The page reuses the browser's cookie, so an earlier tab's form stays valid.
    const withCookie = await h.request(pathOf(link), { headers: { Cookie: page.cookie } });
    expect(withCookie.headers.get("Set-Cookie")).toBeNull();
    expect(await withCookie.text()).toContain(`name="csrf" value="${csrf}"`);

    const done = await post(h, "/verify-email", { token, csrf }, page.cookie);
    expect(done.status).toBe(200);
    expect((await me(h, access_token)).email_verified).toBe(true);
  });

  it("uses a __Host- cookie with Secure when the issuer is https", async () => {
    const h = await openHarness(createNodeHarness, { ISSUER: "https://auth.example.com" });
    await signup(h, "kay@example.com");
    const { link } = await mailTo(h, "kay@example.com", "verify_email");
    expect(link.startsWith("https://auth.example.com/verify-email?token=")).toBe(true);
    const page = await openForm(h, pathOf(link));
    expect(page.setCookie).toMatch(
      /^__Host-tessera_form=[\w-]{43}; Path=\/; HttpOnly; Secure; SameSite=Lax$/,
    );
    // The un-prefixed name is not read on https.
    const plain = page.cookie.replace("__Host-", "");
    const refused = await post(
      h,
      "/verify-email",
      { token: page.token as string, csrf: page.csrf as string },
      plain,
    );
    expect(refused.status).toBe(403);
    const done = await post(
      h,
      "/verify-email",
      { token: page.token as string, csrf: page.csrf as string },
      page.cookie,
    );
    expect(done.status).toBe(200);
  });
});

describe("GET/POST /reset-password", () => {
  it("a refused password shows the error beside the field and keeps the link; then the reset ends every session", async () => {
    const h = await openHarness(createNodeHarness);
    const { refresh_token } = await signup(h, "mae@example.com");
    expect(
      (await h.request("/v1/password/forgot", json({ email: "mae@example.com" }))).status,
    ).toBe(202);
    const { link } = await mailTo(h, "mae@example.com", "reset_password");
    expect(new URL(link).pathname).toBe("/reset-password");

    const page = await openForm(h, pathOf(link));
    expect(page.res.status).toBe(200);
    expect(page.res.headers.get("Content-Security-Policy")).toBe(PAGE_CSP);
    expect(page.html).toContain('<form method="post" action="/reset-password">');
    expect(page.html).toContain('<label for="new_password">New password</label>');
    expect(page.html).toMatch(
      /<input id="new_password" type="password" name="new_password" autocomplete="new-password" required="" autofocus=""/,
    );
    expect(page.html).toContain('<label for="username">Email</label>');
    expect(page.html).toMatch(
      /<input id="username" type="email" name="username" autocomplete="username" value="mae@example.com" readonly=""/,
    );
    // Every input but the hidden ones has a label.
    for (const [, id] of page.html.matchAll(/<input id="([^"]+)"/g)) {
      expect(page.html).toContain(`<label for="${id}">`);
    }
    const form = { csrf: page.csrf as string, token: page.token as string };

    // Policy refusals: the form again, 400, error tied to the field; the link unused.
    for (const [password, message] of [
      ["short", "Password must be at least 8 characters"],
      ["password123", "This password is too common"],
      ["mae-loves-long-passwords", "Password must not contain your email name"],
      ["", "Password must be at least 8 characters"],
    ] as const) {
      const res = await post(
        h,
        "/reset-password",
        { ...form, username: "mae@example.com", new_password: password },
        page.cookie,
      );
      expect(res.status, password).toBe(400);
      expect(res.headers.get("Content-Security-Policy")).toBe(PAGE_CSP);
      const html = await res.text();
      expect(html).toContain("<title>Error: Choose a new password · Tessera</title>");
      expect(html).toMatch(
        /<input id="new_password"[^>]* aria-invalid="true" aria-describedby="new_password-hint new_password-error"\/>/,
      );
      expect(html).toMatch(
        new RegExp(
          `aria-describedby="new_password-hint new_password-error"/><p class="field-error" id="new_password-error"><svg [^]*?</svg><span>${message}`,
        ),
      );
      expect(html).toContain(`name="token" value="${form.token}"`);
      expect(html).not.toContain(password === "" ? 'value=""/>' : password);
    }
    expect((await h.request(pathOf(link))).status).toBe(200);
    expect((await login(h, "mae@example.com", PASSWORD)).status).toBe(200);

    const done = await post(
      h,
      "/reset-password",
      { ...form, username: "mae@example.com", new_password: NEW_PASSWORD },
      page.cookie,
    );
    expect(done.status).toBe(200);
    expect(done.headers.get("Set-Cookie")).toBeNull();
    const html = await done.text();
    expect(html).toContain("<h1>Password changed</h1>");
    expect(html).toContain("You can now sign in with it in the app.");

    expect((await login(h, "mae@example.com", PASSWORD)).status).toBe(400);
    expect((await login(h, "mae@example.com", NEW_PASSWORD)).status).toBe(200);
    // Every session ended, the signup's included.
    const refresh = await h.request("/oauth/token", {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ grant_type: "refresh_token", refresh_token }).toString(),
    });
    expect(refresh.status).toBe(400);
    // Used up.
    expect((await h.request(pathOf(link))).status).toBe(400);
    const again = await post(
      h,
      "/reset-password",
      { ...form, new_password: "yet another one!" },
      page.cookie,
    );
    expect(again.status).toBe(400);
    expect(await again.text()).toContain("This link is no longer valid");
  });

  it("refuses a POST without CSRF before looking at the password", async () => {
    const h = await openHarness(createNodeHarness);
    await signup(h, "ned@example.com");
    await h.request("/v1/password/forgot", json({ email: "ned@example.com" }));
    const { link } = await mailTo(h, "ned@example.com", "reset_password");
    const page = await openForm(h, pathOf(link));
    const res = await post(h, "/reset-password", {
      token: page.token as string,
      new_password: NEW_PASSWORD,
    });
    expect(res.status).toBe(403);
    expect((await login(h, "ned@example.com", PASSWORD)).status).toBe(200);
    expect((await h.request(pathOf(link))).status).toBe(200);
  });

  it("answers throttled form posts with a 429 page and Retry-After", async () => {
    const h = await openHarness(createNodeHarness, { RATE_LIMIT_AUTH: "1/1m" });
    const first = await post(h, "/reset-password", { token: "x" });
    expect(first.status).toBe(403);
    const res = await post(h, "/reset-password", { token: "x" });
    expect(res.status).toBe(429);
    expect(Number(res.headers.get("Retry-After"))).toBeGreaterThan(0);
    expect(res.headers.get("Content-Type")).toBe("text/html; charset=UTF-8");
    expect(res.headers.get("Content-Security-Policy")).toBe(PAGE_CSP);
    expect(await res.text()).toContain("<h1>Too many attempts</h1>");
  });
});

describe("the pages' assets and ACCENT_COLOR", () => {
  it("serves pages.css from dist/static, and theme.css and icon.svg from the accent colour", async () => {
    const h = await openHarness(createNodeHarness, { ACCENT_COLOR: "#FACC15" });
    const theme = await h.request("/assets/theme.css");
    expect(theme.status).toBe(200);
    expect(theme.headers.get("Content-Type")).toBe("text/css; charset=utf-8");
    const css = await theme.text();
    expect(css).toContain("--accent: #facc15;");
    expect(css).toContain("--accent-contrast: #111827;"); // dark text on yellow
    const etag = theme.headers.get("ETag") as string;
    const again = await h.request("/assets/theme.css", { headers: { "If-None-Match": etag } });
    expect(again.status).toBe(304);
    const icon = await h.request("/assets/icon.svg");
    expect(icon.headers.get("Content-Type")).toBe("image/svg+xml");
    expect(await icon.text()).toContain('fill="#facc15"');
    // The harness has no deps.assets: the static file is the Node entry's (browser suite).
    expect((await h.request("/assets/pages.css")).status).toBe(404);
  });

  it("validates ACCENT_COLOR", () => {
    expect(parseConfig({}).accentColor).toBe("#4f46e5");
    expect(parseConfig({ ACCENT_COLOR: " #0A7CFF " }).accentColor).toBe("#0a7cff");
    for (const bad of ["blue", "#fff", "#12345g", "4f46e5", "#4f46e5; color: red"]) {
      expect(() => parseConfig({ ACCENT_COLOR: bad }), bad).toThrow(ConfigError);
      expect(() => parseConfig({ ACCENT_COLOR: bad }), bad).toThrow(
        /^Invalid configuration: ACCENT_COLOR:/,
      );
    }
    expect(textOn("#4f46e5")).toBe("#ffffff");
    expect(textOn("#ffffff")).toBe("#111827");
  });
});
