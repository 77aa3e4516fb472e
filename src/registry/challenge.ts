/**
 * `WWW-Authenticate` challenges (RFC 9110 §11.6.1) as registries send them:
 * `Bearer realm="https://ghcr.io/token",service="ghcr.io",scope="repository:org/api:pull"`, or
 * `Basic realm="Registry Realm"`, possibly several in one header.
 */

/** One challenge: the scheme (lowercase) and its parameters (names lowercase, values unquoted). */
export interface Challenge {
  readonly scheme: string;
  readonly params: Readonly<Record<string, string>>;
}

const TOKEN = /[!#$%&'*+.^_`|~0-9A-Za-z-]+/y;
const TOKEN68 = /[A-Za-z0-9._~+/-]+=*/y;
const BARE_VALUE = /[^,\s]*/y;

/**
 * Parse a `WWW-Authenticate` header into its challenges, in order. Quoted values may hold commas
 * and escaped characters (`\"`); a token68 right after a scheme (`Negotiate abc==`) is skipped.
 * Never throws: what cannot be read is left out.
 */
export function parseWwwAuthenticate(header: string): Challenge[] {
  const challenges: Challenge[] = [];
  let params: Record<string, string> = {};
  let i = 0;
  /** Whether the last thing read was a scheme (a token68 may follow it, not a new scheme). */
  let afterScheme = false;
  const sticky = (re: RegExp): string | undefined => {
    re.lastIndex = i;
    const m = re.exec(header);
    if (m?.[0]) i += m[0].length;
    return m?.[0] || undefined;
  };
  const skip = (chars: RegExp): boolean => {
    const start = i;
    while (i < header.length && chars.test(header[i] ?? "")) i += 1;
    return i > start;
  };
  while (i < header.length) {
    const sawComma = skip(/[\s,]/) && header.slice(0, i).trimEnd().endsWith(",");
    const start = i;
    const name = sticky(TOKEN);
    if (name === undefined) {
      i += 1; // not a token: skip it
      continue;
    }
    skip(/\s/);
    if (header[i] === "=" && header[i + 1] !== "=" && challenges.length) {
      // name=value, a parameter of the current challenge
      i += 1;
      skip(/\s/);
      let value = "";
      if (header[i] === '"') {
        i += 1;
        while (i < header.length && header[i] !== '"') {
          if (header[i] === "\\" && i + 1 < header.length) i += 1;
          value += header.charAt(i);
          i += 1;
        }
        i += 1;
      } else {
        value = sticky(BARE_VALUE) ?? "";
      }
      params[name.toLowerCase()] = value;
      afterScheme = false;
      continue;
    }
    if (afterScheme && !sawComma) {
      // token68 of the scheme just read: no parameters to keep
      i = start;
      sticky(TOKEN68);
      afterScheme = false;
      continue;
    }
    params = {};
    challenges.push({ scheme: name.toLowerCase(), params });
    afterScheme = true;
  }
  return challenges;
}
