/**
 * Compiles a glob used in `exclude` lists into a RegExp over relative POSIX paths: `*` matches within one path
 * segment, `**` across segments, `?` one character. A pattern without `/` matches the base name anywhere
 * (`*.log`, `node_modules`); a pattern matching a directory excludes everything under it.
 */
export function globToRegExp(pattern: string): RegExp {
  const anchored = pattern.includes('/');
  const body = pattern.replace(/^\/+/, '').replace(/\/+$/, '');
  let source = '';
  for (let index = 0; index < body.length; index++) {
    const character = body[index] as string;
    if (character === '*') {
      if (body[index + 1] === '*') {
        index++;
        if (body[index + 1] === '/') {
          index++;
          source += '(?:.*/)?';
        } else source += '.*';
      } else source += '[^/]*';
    } else if (character === '?') source += '[^/]';
    else source += character.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`${anchored ? '^' : '(?:^|/)'}${source}(?:/.*)?$`);
}

/** True when `relativePath` matches any of the compiled patterns. */
export function matchesAny(relativePath: string, patterns: readonly RegExp[]): boolean {
  return patterns.some((pattern) => pattern.test(relativePath));
}
