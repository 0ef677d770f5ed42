/**
 * One-Euro filter (Casiez, Roussel, Vogel, CHI 2012): a low-pass whose cut-off rises with the signal's speed,
 * so a still face is held steady (low cut-off kills detector jitter) and a moving one is followed without lag
 * (high cut-off). Written here because it is twenty lines and no maintained npm package carries it with types.
 */
export interface OneEuroParams {
  /** Cut-off at rest, Hz: lower = steadier still faces. */
  minCutoff: number;
  /** How fast the cut-off rises with speed (per unit/s): higher = less lag when moving. */
  beta: number;
  /** Cut-off of the speed estimate, Hz. */
  derivativeCutoff: number;
}

const alpha = (cutoff: number, dt: number) => {
  const tau = 1 / (2 * Math.PI * cutoff);
  return 1 / (1 + tau / dt);
};

export class OneEuroFilter {
  readonly #params: OneEuroParams;
  #value: number | undefined;
  #speed = 0;
  #time: number | undefined;

  constructor(params: OneEuroParams) {
    this.#params = params;
  }

  /** Filters `value` observed at `time` seconds (strictly increasing); `scale` makes the speed term size-free. */
  filter(value: number, time: number, scale = 1): number {
    if (this.#value === undefined || this.#time === undefined || time <= this.#time) {
      this.#value = value;
      this.#time = time;
      return value;
    }
    const dt = time - this.#time;
    const rawSpeed = (value - this.#value) / dt / scale;
    this.#speed += alpha(this.#params.derivativeCutoff, dt) * (rawSpeed - this.#speed);
    const cutoff = this.#params.minCutoff + this.#params.beta * Math.abs(this.#speed);
    this.#value += alpha(cutoff, dt) * (value - this.#value);
    this.#time = time;
    return this.#value;
  }

  get value(): number | undefined {
    return this.#value;
  }
}
