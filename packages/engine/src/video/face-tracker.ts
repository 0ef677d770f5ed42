import type { DetectedFace } from '../face/detect.ts';
import { OneEuroFilter, type OneEuroParams } from './one-euro.ts';

/**
 * Faces followed from frame to frame of a video, so the aligned crop and the paste mask do not jitter and a
 * face does not blink in and out of restoration:
 *
 * - association: each detection goes to the track whose last box overlaps it most (IoU ≥ 0.3), greedily by
 *   overlap; a detection left over starts a track;
 * - smoothing: every keypoint coordinate and the box go through a One-Euro filter, its speed measured in face
 *   sizes per second so one setting fits small and large faces;
 * - hysteresis: a track is shown once seen on ENTER_HITS frames (at once for a confident detection) and stays
 *   for EXIT_MISSES frames without a detection at its last smoothed place before it is dropped.
 *
 * The state is plain data over frame times, so a segment worker rebuilds it by feeding the few frames before
 * its segment (docs/design.md, Video): where two segments meet the filters have the same recent history.
 */
export interface FaceTrackerOptions {
  filter?: Partial<OneEuroParams>;
  /** Frames a new face must be seen before it is restored (unless its score is at least `confidentScore`). */
  enterHits?: number;
  confidentScore?: number;
  /** Frames a face may go undetected before it stops being restored. */
  exitMisses?: number;
  /** false: no smoothing (the detections as they are), for comparison. */
  smooth?: boolean;
}

/**
 * Chosen on the moving-face clips of packages/engine/tests/video (a grid over minCutoff 0.5–2, beta 2–100,
 * derivative cut-off 0.5–4): a still face is held ~3× steadier than raw detections, and the cut-off opens
 * fast enough with speed that a swaying head is not trailed (a lower beta lags a ½ Hz sway by a few pixels,
 * which is worse than the detector's own jitter). See bench/RESULTS.md, Video.
 */
export const DEFAULT_ONE_EURO: OneEuroParams = { minCutoff: 1, beta: 50, derivativeCutoff: 2 };
const MATCH_IOU = 0.3;

/**
 * Frames before a segment that a segment worker only detects (does not enhance) to rebuild the tracker's
 * state: at rest (1 Hz) the One-Euro filter's time constant is 0.16 s, so 8 frames (0.27 s at 30 fps, 0.33 s at 24)
 * bring it close to where the previous segment's run left it (measured in tests/video/steady-faces.test.ts).
 */
export const TRACK_WARMUP_FRAMES = 8;

interface Track {
  id: number;
  filters: OneEuroFilter[];
  face: DetectedFace;
  hits: number;
  misses: number;
  shown: boolean;
}

export function boxIou(a: readonly number[], b: readonly number[]): number {
  const [ax, ay, aw, ah] = a as [number, number, number, number];
  const [bx, by, bw, bh] = b as [number, number, number, number];
  const w = Math.min(ax + aw, bx + bw) - Math.max(ax, bx);
  const h = Math.min(ay + ah, by + bh) - Math.max(ay, by);
  if (w <= 0 || h <= 0) return 0;
  const inter = w * h;
  return inter / (aw * ah + bw * bh - inter);
}

/** Box (4) then keypoints (x, y each) as one vector: what the filters run over. */
function flatten(face: DetectedFace): number[] {
  return [...face.box, ...face.keypoints.flat()];
}

function unflatten(values: readonly number[], like: DetectedFace): DetectedFace {
  return {
    box: [values[0], values[1], values[2], values[3]] as [number, number, number, number],
    score: like.score,
    keypoints: like.keypoints.map((_, k) => [values[4 + 2 * k] as number, values[5 + 2 * k] as number]),
  };
}

export class FaceTracker {
  readonly #params: OneEuroParams;
  readonly #enterHits: number;
  readonly #confident: number;
  readonly #exitMisses: number;
  readonly #smooth: boolean;
  #tracks: Track[] = [];
  #nextId = 1;

  constructor(options: FaceTrackerOptions = {}) {
    this.#params = { ...DEFAULT_ONE_EURO, ...options.filter };
    this.#enterHits = options.enterHits ?? 2;
    this.#confident = options.confidentScore ?? 0.85;
    this.#exitMisses = options.exitMisses ?? 3;
    this.#smooth = options.smooth ?? true;
  }

  /** Feeds one frame's detections (at `time` seconds) and returns the faces to restore on it, smoothed. */
  update(detections: readonly DetectedFace[], time: number): DetectedFace[] {
    const pairs: { track: Track; face: DetectedFace; iou: number }[] = [];
    for (const track of this.#tracks) {
      for (const face of detections) {
        const iou = boxIou(track.face.box, face.box);
        if (iou >= MATCH_IOU) pairs.push({ track, face, iou });
      }
    }
    pairs.sort((a, b) => b.iou - a.iou);
    const usedTracks = new Set<Track>();
    const usedFaces = new Set<DetectedFace>();
    for (const { track, face } of pairs) {
      if (usedTracks.has(track) || usedFaces.has(face)) continue;
      usedTracks.add(track);
      usedFaces.add(face);
      this.#observe(track, face, time);
    }
    for (const track of this.#tracks) {
      if (!usedTracks.has(track)) {
        track.misses++;
        track.hits = 0;
      }
    }
    this.#tracks = this.#tracks.filter((t) => t.misses <= this.#exitMisses);
    for (const face of detections) {
      if (usedFaces.has(face)) continue;
      const track: Track = {
        id: this.#nextId++,
        filters: flatten(face).map(() => new OneEuroFilter(this.#params)),
        face,
        hits: 0,
        misses: 0,
        shown: false,
      };
      this.#observe(track, face, time);
      this.#tracks.push(track);
    }
    return this.#tracks.filter((t) => t.shown).map((t) => t.face);
  }

  #observe(track: Track, face: DetectedFace, time: number): void {
    track.hits++;
    track.misses = 0;
    if (track.hits >= this.#enterHits || face.score >= this.#confident) track.shown = true;
    if (!this.#smooth) {
      track.face = face;
      return;
    }
    const size = Math.max(1, Math.max(face.box[2], face.box[3]));
    const values = flatten(face).map((v, i) => (track.filters[i] as OneEuroFilter).filter(v, time, size));
    track.face = unflatten(values, face);
  }

  /** Live tracks (tests, logs). */
  get size(): number {
    return this.#tracks.length;
  }
}
