import type { Child } from "hono/jsx";

/**
 * The frame of every hosted page (docs/decisions.md, "Hosted pages"): the product's name and
 * mark above one card. No script and no inline style: the look comes from
 * `/assets/pages.css` (static) and `/assets/theme.css` (the accent colour, from config).
 */
export function Layout(props: { appName: string; title: string; children?: Child }) {
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <meta name="color-scheme" content="light dark" />
        <meta name="robots" content="noindex, nofollow" />
        <title>{`${props.title} · ${props.appName}`}</title>
        <link rel="icon" type="image/svg+xml" href="/assets/icon.svg" />
        <link rel="stylesheet" href="/assets/pages.css" />
        <link rel="stylesheet" href="/assets/theme.css" />
      </head>
      <body>
        <main class="page">
          <header class="brand">
            <BrandMark />
            <span class="brand-name">{props.appName}</span>
          </header>
          <div class="card">{props.children}</div>
        </main>
      </body>
    </html>
  );
}

/** The padlock mark, coloured by the theme (`--accent`); the favicon draws the same shape. */
function BrandMark() {
  return (
    <svg class="brand-mark" viewBox="0 0 32 32" aria-hidden="true" focusable="false">
      <rect class="brand-mark-bg" width="32" height="32" rx="8" />
      <path class="brand-mark-shackle" d="M11.5 14.5v-3a4.5 4.5 0 0 1 9 0v3" />
      <rect class="brand-mark-body" x="9" y="14.5" width="14" height="10" rx="2.5" />
    </svg>
  );
}

/** A round badge above a result's heading. */
export function StatusIcon(props: { kind: "success" | "error" }) {
  return (
    <div class={`status status-${props.kind}`}>
      <svg viewBox="0 0 24 24" aria-hidden="true" focusable="false">
        {props.kind === "success" ? (
          <path d="M5 12.5l4.5 4.5L19 7.5" />
        ) : (
          <>
            <circle cx="12" cy="12" r="9" />
            <path d="M12 7.75v5M12 16.25v.01" />
          </>
        )}
      </svg>
    </div>
  );
}
