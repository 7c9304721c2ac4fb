/**
 * A small seeded pseudo-random generator for the simulator. Math.random cannot be seeded, and a
 * simulation that cannot be replayed cannot be debugged or used to compare two engine versions.
 *
 * The core is sfc32 (Chris Doty-Humphrey's Small Fast Counting generator: 128-bit state, passes
 * PractRand, four 32-bit integer ops per draw); the seed, a number or any string, is spread over the
 * state by the cyrb128 hash so that nearby seeds (1, 2, 3) give unrelated streams. Not for secrets.
 */

export type Seed = number | string;

export class Prng {
  #a: number;
  #b: number;
  #c: number;
  #d: number;

  constructor(seed: Seed) {
    [this.#a, this.#b, this.#c, this.#d] = cyrb128(String(seed));
    // The first outputs of sfc32 still reflect the seed closely; the reference code discards 12.
    for (let i = 0; i < 12; i += 1) this.#nextUint32();
  }

  /** Uniform in [0, 1). */
  next(): number {
    return this.#nextUint32() / 4294967296;
  }

  /** Uniform in [a, b). */
  uniform(a: number, b: number): number {
    return a + (b - a) * this.next();
  }

  /** Integer uniform in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** Exponential with the given mean (inter-arrival times of a Poisson process). */
  exponential(mean: number): number {
    // 1 - next() is in (0, 1], so the log is finite.
    return -mean * Math.log(1 - this.next());
  }

  /** Normal (Box–Muller; one value per call, so every draw consumes the stream the same way). */
  normal(mean: number, sd: number): number {
    const u = 1 - this.next();
    const v = this.next();
    return mean + sd * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }

  /**
   * Log-normal given the distribution's own mean and standard deviation (not those of its log):
   * durations such as handle times are positive and right-skewed, and are quoted that way ("mean
   * 300 s, sd 120 s"). sd 0 gives the mean exactly.
   */
  lognormal(mean: number, sd: number): number {
    if (!(mean > 0)) throw new RangeError(`lognormal mean must be > 0 (got ${mean})`);
    if (!(sd >= 0)) throw new RangeError(`lognormal sd must be >= 0 (got ${sd})`);
    if (sd === 0) return mean;
    const sigma2 = Math.log(1 + (sd * sd) / (mean * mean));
    const mu = Math.log(mean) - sigma2 / 2;
    return Math.exp(this.normal(mu, Math.sqrt(sigma2)));
  }

  bernoulli(p: number): boolean {
    return this.next() < p;
  }

  /**
   * Draws an index (array) or key (record) with probability proportional to its weight. Weights
   * must be >= 0 with a positive sum; they need not sum to 1. Record keys are taken in insertion
   * order, so the same record always maps the same draw to the same key.
   */
  pick(weights: readonly number[]): number;
  pick<K extends string>(weights: Readonly<Record<K, number>>): K;
  pick(weights: readonly number[] | Readonly<Record<string, number>>): number | string {
    const entries: [number | string, number][] = Array.isArray(weights)
      ? (weights as readonly number[]).map((w, i): [number, number] => [i, w])
      : Object.entries(weights as Record<string, number>);
    let total = 0;
    for (const [key, w] of entries) {
      if (!(w >= 0) || !Number.isFinite(w)) throw new RangeError(`pick: weight of ${key} must be a finite number >= 0 (got ${w})`);
      total += w;
    }
    if (!(total > 0)) throw new RangeError('pick: weights must have a positive sum');
    let r = this.next() * total;
    let lastPositive: number | string | undefined;
    for (const [key, w] of entries) {
      if (w === 0) continue;
      if (r < w) return key;
      r -= w;
      lastPositive = key;
    }
    // Only reachable through rounding in the subtractions: the last key with weight wins.
    return lastPositive!;
  }

  #nextUint32(): number {
    const t = (((this.#a + this.#b) | 0) + this.#d) | 0;
    this.#d = (this.#d + 1) | 0;
    this.#a = this.#b ^ (this.#b >>> 9);
    this.#b = (this.#c + (this.#c << 3)) | 0;
    this.#c = (this.#c << 21) | (this.#c >>> 11);
    this.#c = (this.#c + t) | 0;
    return t >>> 0;
  }
}

/** cyrb128 (bryc): a fast 128-bit string hash, used only to turn a seed into generator state. */
function cyrb128(text: string): [number, number, number, number] {
  let h1 = 1779033703;
  let h2 = 3144134277;
  let h3 = 1013904242;
  let h4 = 2773480762;
  for (let i = 0; i < text.length; i += 1) {
    const k = text.charCodeAt(i);
    h1 = h2 ^ Math.imul(h1 ^ k, 597399067);
    h2 = h3 ^ Math.imul(h2 ^ k, 2869860233);
    h3 = h4 ^ Math.imul(h3 ^ k, 951274213);
    h4 = h1 ^ Math.imul(h4 ^ k, 2716044179);
  }
  h1 = Math.imul(h3 ^ (h1 >>> 18), 597399067);
  h2 = Math.imul(h4 ^ (h2 >>> 22), 2869860233);
  h3 = Math.imul(h1 ^ (h3 >>> 17), 951274213);
  h4 = Math.imul(h2 ^ (h4 >>> 19), 2716044179);
  h1 ^= h2 ^ h3 ^ h4;
  h2 ^= h1;
  h3 ^= h1;
  h4 ^= h1;
  return [h1 >>> 0, h2 >>> 0, h3 >>> 0, h4 >>> 0];
}
