/**
 * The known key closest to `unknown` (a typo, a transposition, a wrong case, a cut-off name or a unit suffix too
 * many or too few), for "did you mean" messages; or `undefined` when none is close enough. Case-insensitive edit
 * distance with transpositions, at most a third of the key's length (and at least 1); a key that starts with the
 * other (both at least 3 characters) is close enough too.
 *
 * @example
 * ```ts
 * suggestKey('timout', ['timeout', 'mode']) // 'timeout'
 * suggestKey('zzz', ['timeout', 'mode'])    // undefined
 * ```
 */
export function suggestKey(unknown: string, known: Iterable<string>): string | undefined {
  const target = unknown.toLowerCase();
  const limit = Math.max(1, Math.floor(target.length / 3));
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of known) {
    const lower = candidate.toLowerCase();
    const distance = editDistance(target, lower);
    const prefixed =
      Math.min(target.length, lower.length) >= 3 && (lower.startsWith(target) || target.startsWith(lower));
    if ((distance <= limit || prefixed) && distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best;
}

/** Optimal string alignment distance: insertions, deletions, substitutions and adjacent transpositions. */
function editDistance(a: string, b: string): number {
  if (a === b) return 0;
  // Keys are short; three rows are enough for the transposition lookback.
  let before = new Array<number>(b.length + 1).fill(0);
  let previous = Array.from({ length: b.length + 1 }, (_, index) => index);
  for (let i = 1; i <= a.length; i++) {
    const current = new Array<number>(b.length + 1).fill(0);
    current[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let value = Math.min(
        (previous[j] as number) + 1,
        (current[j - 1] as number) + 1,
        (previous[j - 1] as number) + cost,
      );
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        value = Math.min(value, (before[j - 2] as number) + 1);
      current[j] = value;
    }
    before = previous;
    previous = current;
  }
  return previous[b.length] as number;
}
