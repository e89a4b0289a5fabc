/**
 * The first key that appears twice among the top-level members of a JSON object text, or
 * undefined. `JSON.parse` keeps the last duplicate silently; RFC 6749 §3.2 says a parameter
 * must not appear more than once, which the JSON extension of `/oauth/*` keeps. Only the
 * structure is scanned (strings and escapes honoured); the text is parsed by `JSON.parse`.
 */
export function duplicateTopLevelKey(text: string): string | undefined {
  const seen = new Set<string>();
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (ch === "{" || ch === "[") depth++;
    else if (ch === "}" || ch === "]") depth--;
    else if (ch === '"') {
      const start = i;
      for (i++; i < text.length && text[i] !== '"'; i++) if (text[i] === "\\") i++;
      if (depth !== 1) continue;
      // A top-level string followed by ':' is a member name.
      let j = i + 1;
      while (j < text.length && /\s/.test(text[j] as string)) j++;
      if (text[j] !== ":") continue;
      let name: string;
      try {
        name = JSON.parse(text.slice(start, i + 1)) as string;
      } catch {
        return undefined; // malformed: JSON.parse will report it
      }
      if (seen.has(name)) return name;
      seen.add(name);
    }
  }
  return undefined;
}
