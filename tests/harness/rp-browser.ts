/**
 * A minimal browser for driving Tessera's hosted pages over HTTP in relying-party tests: a
 * cookie jar, redirects followed while they stay on the issuer's origin (303 and 302 become
 * GET), and HTML forms read from the page and submitted with their hidden fields. It never
 * follows a redirect to another origin (the client's redirect URI): that URL is handed back,
 * as a real browser's address bar would show it to the client.
 */

export type Fetch = (url: string, init?: RequestInit) => Promise<Response>;

/** Where a navigation ended: a page of the issuer, or a redirect away from it. */
export type Landing =
  | { kind: "page"; url: string; status: number; headers: Headers; html: string }
  | { kind: "left"; url: URL; status: number; headers: Headers };

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

/** A cookie-carrying client for one origin (the issuer). */
export class Browser {
  readonly cookies = new Map<string, string>();
  /** Every request this browser made, in order (method and URL), for assertions. */
  readonly history: string[] = [];
  private readonly origin: string;

  constructor(
    private readonly fetchFn: Fetch,
    issuer: string,
  ) {
    this.origin = new URL(issuer).origin;
  }

  private store(res: Response) {
    // Node's Headers and workerd's both have getSetCookie (not in @cloudflare/workers-types).
    const headers = res.headers as unknown as { getSetCookie(): string[] };
    for (const line of headers.getSetCookie()) {
      const [pair, ...attrs] = line.split(";");
      const eq = (pair as string).indexOf("=");
      const name = (pair as string).slice(0, eq).trim();
      const value = (pair as string).slice(eq + 1).trim();
      const expired = attrs.some((a: string) => {
        const [k, v] = a.trim().split("=");
        if (k?.toLowerCase() === "max-age") return Number(v) <= 0;
        if (k?.toLowerCase() === "expires") return Date.parse(v ?? "") <= Date.now();
        return false;
      });
      if (expired || value === "") this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
  }

  /** One request on the issuer's origin with the jar's cookies; no redirect followed. */
  async request(url: string, init: RequestInit = {}): Promise<Response> {
    if (new URL(url).origin !== this.origin) {
      throw new Error(`the browser only talks to the issuer, not ${url}`);
    }
    const headers = new Headers(init.headers);
    if (this.cookies.size > 0) {
      headers.set(
        "Cookie",
        [...this.cookies].map(([name, value]) => `${name}=${value}`).join("; "),
      );
    }
    this.history.push(`${init.method ?? "GET"} ${url}`);
    const res = await this.fetchFn(url, { ...init, headers, redirect: "manual" });
    this.store(res);
    return res;
  }

  /** Opens `url` (GET, or `init`) and follows redirects on the issuer's origin. */
  async navigate(url: string, init: RequestInit = {}): Promise<Landing> {
    let current = url;
    let options = init;
    for (let hops = 0; hops < 10; hops++) {
      const res = await this.request(current, options);
      const location = res.headers.get("Location");
      if (res.status >= 300 && res.status < 400 && location) {
        await res.body?.cancel();
        const next = new URL(location, current);
        if (next.origin !== this.origin) {
          return { kind: "left", url: next, status: res.status, headers: res.headers };
        }
        if (res.status === 307 || res.status === 308) {
          throw new Error(`unexpected ${res.status} on the issuer: ${next}`);
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
   * Submits the page's form whose action is `action` (or its only POST form) with its hidden
   * fields and `values` (visible inputs, or a button's `name: value`), form-encoded.
   */
  async submit(
    page: Landing,
    values: Record<string, string>,
    action?: string,
    tamper: (fields: URLSearchParams) => void = () => {},
  ): Promise<Landing> {
    if (page.kind !== "page") throw new Error(`not on a page: ${page.url}`);
    const forms = readForms(page.html).filter(
      (f) => f.method === "post" && (action === undefined || f.action === action),
    );
    const form = forms[0];
    if (!form || (action === undefined && forms.length !== 1)) {
      throw new Error(`no single form ${action ?? ""} on ${page.url}:\n${page.html}`);
    }
    const fields = new URLSearchParams({ ...form.hidden, ...values });
    tamper(fields);
    return this.navigate(new URL(form.action, page.url).toString(), {
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
