/**
 * What the hosted pages take from configuration for their look, served as files so that the
 * page policy needs no inline style: `/assets/theme.css` sets `--accent` (`ACCENT_COLOR`) and
 * a text colour that reads on it, `/assets/icon.svg` is the favicon in that colour.
 */

/** WCAG 2 relative luminance of `#rrggbb`. */
function luminance(hex: string): number {
  const channel = (i: number) => {
    const v = Number.parseInt(hex.slice(i, i + 2), 16) / 255;
    return v <= 0.04045 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
  };
  return 0.2126 * channel(1) + 0.7152 * channel(3) + 0.0722 * channel(5);
}

/** White or near-black, whichever contrasts more with `accent` (WCAG contrast ratio). */
export function textOn(accent: string): "#ffffff" | "#111827" {
  const l = luminance(accent);
  const dark = luminance("#111827");
  return 1.05 / (l + 0.05) >= (l + 0.05) / (dark + 0.05) ? "#ffffff" : "#111827";
}

/** `/assets/theme.css` for an accent colour (`#rrggbb`, validated by the config). */
export function themeStylesheet(accent: string): string {
  return `/* ACCENT_COLOR */\n:root {\n  --accent: ${accent};\n  --accent-contrast: ${textOn(accent)};\n}\n`;
}

/** `/assets/icon.svg`: the padlock mark of the page header, in the accent colour. */
export function iconSvg(accent: string): string {
  const fg = textOn(accent);
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32">` +
    `<rect width="32" height="32" rx="8" fill="${accent}"/>` +
    `<path d="M11.5 14.5v-3a4.5 4.5 0 0 1 9 0v3" fill="none" stroke="${fg}" stroke-width="2.5" stroke-linecap="round"/>` +
    `<rect x="9" y="14.5" width="14" height="10" rx="2.5" fill="${fg}"/>` +
    `</svg>\n`
  );
}
