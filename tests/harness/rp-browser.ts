/**
 * A minimal browser for driving Tessera's hosted pages over HTTP, without a real browser: a
 * cookie jar per origin and path, redirects (302/303 → GET) followed across the origins it
 * may visit, and HTML forms read from the page and submitted with their hidden fields. Each
 * origin has a transport (Tessera: the harness's `request` or a listening server's fetch, so
 * it runs on Node and inside workerd; an upstream identity provider: the real `fetch`). A
 * redirect to any other origin (the client's redirect URI) ends the navigation: that URL is
 * handed back, as a real browser's address bar would show it to the client.
 *
 * Not modelled: SameSite (every cookie of the origin is sent, including on the Apple-like
 * server's cross-site form post) and scripts (forms are submitted by the test).
 */

export type Fetch = (url: string, init?: RequestInit) => Promise<Response>;

export type Page = {
  kind: "page";
  url: string;
  status: number;
  headers: Headers;
  html: string;
};
export type Left = { kind: "left"; url: URL; status: number; headers: Headers };
/** Where a navigation ended: a page on a known origin, or a redirect away from them. */
export type Landing = Page | Left;

export type Form = {
  action: string;
  method: string;
  /** Hidden inputs and named buttons' values, as the page sent them. */
  hidden: Record<string, string>;
  /** Names of the visible inputs (email, password). */
  inputs: string[];
  /** `name=value` of each submit button that has a name. */
  buttons: Array<{ name: string; value: string }>;
};

const ENTITIES: Record<string, string> = {
  amp: "&",
  lt: "<",
  gt: ">",
  quot: '"',
  apos: "'",
};

/** Undoes HTML attribute escaping (`&amp;`, `&quot;`, `&#39;`, `&#x27;`). */
export function unescapeHtml(text: string): string {
  return text.replace(/&(#x[0-9a-f]+|#\d+|[a-z]+);/gi, (whole, name: string) => {
    if (name[0] === "#") {
      const code =
        name[1] === "x" || name[1] === "X"
          ? Number.parseInt(name.slice(2), 16)
          : Number(name.slice(1));
      return String.fromCodePoint(code);
    }
    return ENTITIES[name.toLowerCase()] ?? whole;
  });
}

function attributes(tag: string): Record<string, string> {
  const attrs: Record<string, string> = {};
  for (const m of tag.matchAll(
    /([a-zA-Z_:][-a-zA-Z0-9_:.]*)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'))?/g,
  )) {
    const name = (m[1] as string).toLowerCase();
    attrs[name] = unescapeHtml(m[2] ?? m[3] ?? "");
  }
  return attrs;
}

/** The forms of a page, in document order. */
export function readForms(html: string): Form[] {
  const forms: Form[] = [];
  for (const m of html.matchAll(/<form\b([^>]*)>([\s\S]*?)<\/form>/gi)) {
    const attrs = attributes(m[1] as string);
    const body = m[2] as string;
    const form: Form = {
      action: attrs.action ?? "",
      method: (attrs.method ?? "get").toLowerCase(),
      hidden: {},
      inputs: [],
      buttons: [],
    };
    for (const input of body.matchAll(/<input\b([^>]*)>/gi)) {
      const a = attributes(input[1] as string);
      if (!a.name) continue;
      if (a.type === "hidden") form.hidden[a.name] = a.value ?? "";
      else form.inputs.push(a.name);
    }
    for (const button of body.matchAll(/<button\b([^>]*)>/gi)) {
      const a = attributes(button[1] as string);
      if (a.name) form.buttons.push({ name: a.name, value: a.value ?? "" });
    }
    forms.push(form);
  }
  return forms;
}

type Cookie = { name: string; value: string; path: string };

/** A cookie-carrying client for the origins it may visit. */
export class Browser {
  /** origin → cookies. */
  readonly jar = new Map<string, Cookie[]>();
  /** Every request made, `METHOD URL`, in order. */
  readonly history: string[] = [];
  /**
   * A redirect to a URL this matches is not followed: the navigation ends there as if it
   * left (e.g. to replay an upstream's callback in another browser).
   */
  hold: ((url: URL) => boolean) | undefined;

  private readonly transports: Record<string, Fetch> = {};

  /** `transports`: URL (or origin) → how to reach that origin; more with `allow`. */
  constructor(transports: Record<string, Fetch>) {
    for (const [url, transport] of Object.entries(transports)) this.allow(url, transport);
  }

  /** Adds an origin the browser may visit. */
  allow(origin: string, transport: Fetch = (url, init) => fetch(url, init)): void {
    this.transports[new URL(origin).origin] = transport;
  }

  cookies(origin: string): Cookie[] {
    return this.jar.get(new URL(origin).origin) ?? [];
  }

  private store(url: URL, res: Response) {
    // Node's Headers and workerd's both have getSetCookie (not in @cloudflare/workers-types).
    const headers = res.headers as unknown as { getSetCookie(): string[] };
    const cookies = this.jar.get(url.origin) ?? [];
    for (const line of headers.getSetCookie()) {
      const [pair, ...attrs] = line.split(";");
      const eq = (pair as string).indexOf("=");
      const name = (pair as string).slice(0, eq).trim();
      const value = (pair as string).slice(eq + 1).trim();
      let path = url.pathname.replace(/\/[^/]*$/, "") || "/";
      let expired = value === "";
      for (const a of attrs) {
        const [k, v = ""] = a.trim().split("=");
        const key = k?.toLowerCase();
        if (key === "path" && v.startsWith("/")) path = v;
        if (key === "max-age" && Number(v) <= 0) expired = true;
        if (key === "expires" && Date.parse(v) <= Date.now()) expired = true;
      }
      const rest = cookies.filter((c) => !(c.name === name && c.path === path));
      if (!expired) rest.push({ name, value, path });
      cookies.splice(0, cookies.length, ...rest);
    }
    this.jar.set(url.origin, cookies);
  }

  private cookieHeader(url: URL): string | undefined {
    const matching = this.cookies(url.origin).filter(
      (c) =>
        c.path === "/" ||
        url.pathname === c.path ||
        url.pathname.startsWith(c.path.endsWith("/") ? c.path : `${c.path}/`),
    );
    // Longer paths first (RFC 6265 §5.4).
    matching.sort((a, b) => b.path.length - a.path.length);
    return matching.length ? matching.map((c) => `${c.name}=${c.value}`).join("; ") : undefined;
  }

  /** One request with the origin's cookies; no redirect followed. */
  async request(url: string, init: RequestInit = {}): Promise<Response> {
    const target = new URL(url);
    const transport = this.transports[target.origin];
    if (!transport) throw new Error(`the browser may not visit ${target.origin}`);
    const headers = new Headers(init.headers);
    const cookie = this.cookieHeader(target);
    if (cookie) headers.set("Cookie", cookie);
    this.history.push(`${init.method ?? "GET"} ${url}`);
    const res = await transport(url, { ...init, headers, redirect: "manual" });
    this.store(target, res);
    return res;
  }

  /** Opens `url` (GET, or `init`) and follows redirects among the known origins. */
  async navigate(url: string, init: RequestInit = {}): Promise<Landing> {
    let current = url;
    let options = init;
    for (let hops = 0; hops < 20; hops++) {
      const res = await this.request(current, options);
      const location = res.headers.get("Location");
      if (res.status >= 300 && res.status < 400 && location) {
        await res.body?.cancel();
        const next = new URL(location, current);
        if (!this.transports[next.origin] || this.hold?.(next)) {
          return { kind: "left", url: next, status: res.status, headers: res.headers };
        }
        if (res.status === 307 || res.status === 308) {
          throw new Error(`unexpected ${res.status} to ${next}`);
        }
        current = next.toString();
        options = {};
        continue;
      }
      return {
        kind: "page",
        url: current,
        status: res.status,
        headers: res.headers,
        html: await res.text(),
      };
    }
    throw new Error(`too many redirects from ${url}`);
  }

  /**
   * Submits the page's form matching `select` (an action, or a predicate; default: the only
   * form with method POST) with its hidden fields and `values`, then `tamper` with the fields
   * (e.g. drop the CSRF field). GET forms navigate with the fields in the query.
   */
  async submit(
    page: Landing,
    values: Record<string, string> = {},
    select?: string | ((form: Form) => boolean),
    tamper: (fields: URLSearchParams) => void = () => {},
  ): Promise<Landing> {
    if (page.kind !== "page") throw new Error(`not on a page: ${page.url}`);
    const all = readForms(page.html);
    const forms =
      select === undefined
        ? all.filter((f) => f.method === "post")
        : all.filter((f) =>
            typeof select === "string"
              ? f.action === select || new URL(f.action, page.url).toString() === select
              : select(f),
          );
    const form = forms[0];
    if (!form || forms.length !== 1) {
      throw new Error(
        `no single form ${typeof select === "string" ? select : ""} on ${page.url} (${page.status}):\n${page.html}`,
      );
    }
    const fields = new URLSearchParams({ ...form.hidden, ...values });
    tamper(fields);
    const action = new URL(form.action || page.url, page.url);
    if (form.method === "get") {
      action.search = fields.toString();
      return this.navigate(action.toString());
    }
    return this.navigate(action.toString(), {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
      body: fields.toString(),
    });
  }
}

/** The page's first `<h1>`, text only: what a person would read first. */
export const heading = (page: Landing) =>
  page.kind === "page"
    ? unescapeHtml(/<h1[^>]*>([\s\S]*?)<\/h1>/i.exec(page.html)?.[1]?.replace(/<[^>]+>/g, "") ?? "")
    : "";

/** The text of a page, tags removed and entities undone, whitespace collapsed. */
export const pageText = (page: Landing): string =>
  page.kind === "page"
    ? unescapeHtml(
        page.html
          .replace(/<(script|style)\b[\s\S]*?<\/\1>/gi, " ")
          .replace(/<[^>]+>/g, " ")
          .replace(/\s+/g, " "),
      ).trim()
    : "";
