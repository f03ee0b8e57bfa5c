/** Options of {@link nelderMead}. */
export interface NelderMeadOptions {
  /** Initial step per coordinate (the simplex's edges). Default 0.1 for every coordinate. */
  step?: readonly number[];
  /** Stop when the best and worst objective values differ by less than this (relative). Default 1e-10. */
  tolerance?: number;
  /** Stop after this many objective evaluations. Default 400 × dimension. */
  maxEvaluations?: number;
  /** Restart from the best point until an improvement is smaller than `tolerance` (at most this many times). Default 3. */
  restarts?: number;
}

/** The result of {@link nelderMead}. */
export interface NelderMeadResult {
  x: number[];
  value: number;
  evaluations: number;
}

/**
 * Minimises `objective` with the Nelder–Mead simplex method, using the dimension-adaptive coefficients of Gao & Han
 * (2012) so it stays effective beyond a handful of parameters, and restarting from the best vertex (a fresh simplex
 * escapes the collapse the method is known for). Non-finite objective values count as +∞.
 */
export function nelderMead(
  objective: (x: number[]) => number,
  start: readonly number[],
  options: NelderMeadOptions = {},
): NelderMeadResult {
  const dimension = start.length;
  const { tolerance = 1e-10, maxEvaluations = 400 * Math.max(1, dimension), restarts = 3 } = options;
  let evaluations = 0;
  const f = (x: number[]) => {
    evaluations++;
    const value = objective(x);
    return Number.isFinite(value) ? value : Number.POSITIVE_INFINITY;
  };
  if (dimension === 0) return { x: [], value: f([]), evaluations };
  const reflect = 1;
  const expand = 1 + 2 / dimension;
  const contract = 0.75 - 1 / (2 * dimension);
  const shrink = 1 - 1 / dimension;

  let best = [...start];
  let bestValue = f(best);
  for (let round = 0; round <= restarts; round++) {
    const simplex: number[][] = [best];
    const values: number[] = [bestValue];
    for (let index = 0; index < dimension; index++) {
      const vertex = [...best];
      const step = options.step?.[index] ?? 0.1;
      vertex[index] = (vertex[index] as number) + (step === 0 ? 0.00025 : step);
      simplex.push(vertex);
      values.push(f(vertex));
    }
    const order = Array.from({ length: dimension + 1 }, (_, index) => index);
    const budget = maxEvaluations / (restarts + 1);
    const roundStart = evaluations;
    while (evaluations - roundStart < budget) {
      order.sort((a, b) => (values[a] as number) - (values[b] as number));
      const lowest = values[order[0] as number] as number;
      const highest = values[order[dimension] as number] as number;
      if (Number.isFinite(highest) && Math.abs(highest - lowest) <= tolerance * (Math.abs(lowest) + 1e-30)) break;
      const worst = order[dimension] as number;
      const centroid = new Array<number>(dimension).fill(0);
      for (let rank = 0; rank < dimension; rank++) {
        const vertex = simplex[order[rank] as number] as number[];
        for (let coordinate = 0; coordinate < dimension; coordinate++)
          centroid[coordinate] = (centroid[coordinate] as number) + (vertex[coordinate] as number) / dimension;
      }
      const towards = (coefficient: number) =>
        centroid.map(
          (value, coordinate) => value + coefficient * (value - ((simplex[worst] as number[])[coordinate] as number)),
        );
      const reflected = towards(reflect);
      const reflectedValue = f(reflected);
      const secondWorst = values[order[dimension - 1] as number] as number;
      if (reflectedValue < lowest) {
        const expanded = towards(reflect * expand);
        const expandedValue = f(expanded);
        if (expandedValue < reflectedValue) {
          simplex[worst] = expanded;
          values[worst] = expandedValue;
        } else {
          simplex[worst] = reflected;
          values[worst] = reflectedValue;
        }
        continue;
      }
      if (reflectedValue < secondWorst) {
        simplex[worst] = reflected;
        values[worst] = reflectedValue;
        continue;
      }
      const outside = reflectedValue < (values[worst] as number);
      const contracted = towards(outside ? reflect * contract : -contract);
      const contractedValue = f(contracted);
      if (contractedValue < (outside ? reflectedValue : (values[worst] as number))) {
        simplex[worst] = contracted;
        values[worst] = contractedValue;
        continue;
      }
      const bestVertex = simplex[order[0] as number] as number[];
      for (let rank = 1; rank <= dimension; rank++) {
        const index = order[rank] as number;
        simplex[index] = (simplex[index] as number[]).map(
          (value, coordinate) =>
            (bestVertex[coordinate] as number) + shrink * (value - (bestVertex[coordinate] as number)),
        );
        values[index] = f(simplex[index] as number[]);
      }
    }
    let roundBest = 0;
    for (let index = 1; index <= dimension; index++)
      if ((values[index] as number) < (values[roundBest] as number)) roundBest = index;
    const improvement = bestValue - (values[roundBest] as number);
    if ((values[roundBest] as number) <= bestValue) {
      best = simplex[roundBest] as number[];
      bestValue = values[roundBest] as number;
    }
    if (round > 0 && !(improvement > tolerance * (Math.abs(bestValue) + 1e-30))) break;
    if (evaluations >= maxEvaluations) break;
  }
  return { x: best, value: bestValue, evaluations };
}
