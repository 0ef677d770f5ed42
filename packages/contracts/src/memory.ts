import { PhotoEnhanceError } from './errors/index.ts';

/**
 * How much memory one job needs on top of an idle worker (runtime, libvips, loaded upscaler), from what
 * is known before any pixel is decoded: dimensions, scale, model, faces, alpha and depth. One pure function
 * for the engine (admission before decode and again once faces are counted), the API (refusal at
 * submission) and the CLI. Calibrated against peak RSS in `npm run bench:memory` (bench/RESULTS.md, "Memory
 * per photo"); the engine's test checks it against a measured run.
 *
 * The engine holds, for the whole job: the decoded input as float planes (12 bytes an input pixel, 16 with
 * alpha) and the output at the requested scale as integers (3–4 samples of 1–2 bytes). While the upscaler
 * runs it adds one band of float output rows (one tile row tall), a few tiles and ONNX Runtime's working
 * memory for one window; the face stage adds the restorer's run; encoding adds the encoded file.
 */
export interface JobMemoryInput {
  width: number;
  height: number;
  scale: number;
  /** The background upscaler ('realesrgan-x4fast', …); null = plain resize (no model). */
  upscaleModel: string | null;
  /** Faces to restore (0 before detection, or when restoration is off). */
  faces: number;
  alpha?: boolean;
  bitDepth?: 8 | 16;
  /** Tile side in input pixels as requested (0 = automatic) and the context around each tile. */
  tileSize?: number;
  tilePad?: number;
  /** 'png' and 'tiff' results are bigger than the pixels' share of a JPEG or WebP file. */
  outputFormat?: string;
  keepMetadata?: boolean;
  /** The uploaded file, held until the job ends. */
  fileBytes?: number;
}

export interface JobMemoryEstimate {
  /** Peak bytes above the idle worker. */
  bytes: number;
  /** The parts, for messages and the benchmark: what is held for the whole job and each stage's own peak. */
  parts: { held: number; decode: number; upscale: number; faces: number; encode: number; fixed: number };
}

/** The engine's automatic tile (upscale/tile-plan.ts DEFAULT_MAX_TILE_PIXELS) and default context. */
const AUTO_TILE_PIXELS = 512 * 512;
const DEFAULT_TILE_PAD = 10;
const MODEL_SCALE = 4;

/**
 * ONNX Runtime's working memory per pixel of one model window (input resolution), arena included.
 * x4fast: measured (bench/RESULTS.md); x4plus: its ×4-resolution 64-channel convolutions alone are 4 KiB an
 * input pixel each, three alive at once — computed, to be measured on a GPU worker. Unknown models get x4plus's.
 */
export const UPSCALER_WORKING_BYTES_PER_PIXEL: Readonly<Record<string, number>> = {
  'realesrgan-x4fast': 1400,
  'realesrgan-x4plus': 12_500,
};
const UNKNOWN_UPSCALER_BYTES_PER_PIXEL = 12_500;

/**
 * One restorer run (GFPGAN family, 512², batch of one, memory pattern off): its session's arena and
 * activations, 1.23 GiB measured for the stand-in alone (bench/RESULTS.md, "Face restoration… Memory").
 * The restorer's weights are counted here too, since a worker opens it at its first face.
 */
export const RESTORER_RUN_BYTES = 1_320_000_000;
/** Per face: the aligned crop, the restored face and the float footprint it is pasted through. */
const PER_FACE_BYTES = 8_000_000;
/** JavaScript heap churn, libvips' operation cache and thread stacks, face detection's small tiles. */
const FIXED_BYTES = 120_000_000;
/**
 * Above this many pixels JPEG results are written without Huffman optimisation (image/encode.ts): optimising
 * makes libjpeg keep every DCT coefficient of the image (2 bytes a sample: 288 MB for a 48 MP result at
 * 4:4:4; measured 0.66 GB of RSS and 7× the time) where plain coding streams rows; the file is bigger (+12 % on noise).
 */
export const JPEG_OPTIMISE_MAX_PIXELS = 16_000_000;

function gcd(a: number, b: number): number {
  let x = a;
  let y = b;
  while (y !== 0) [x, y] = [y, x % y];
  return x;
}

/** Side of the tile core the engine uses (tile-plan.ts resolveTileSize), per axis. */
function tileCore(width: number, height: number, tileSize: number, pad: number): { w: number; h: number } {
  let side = tileSize;
  if (side <= 0) side = (width + 2 * pad) * (height + 2 * pad) <= AUTO_TILE_PIXELS ? 0 : Math.sqrt(AUTO_TILE_PIXELS);
  if (side <= 0 || (side >= width && side >= height)) return { w: width, h: height };
  const s = Math.max(1, Math.floor(side));
  return { w: Math.ceil(width / Math.ceil(width / s)), h: Math.ceil(height / Math.ceil(height / s)) };
}

/**
 * Source (×4) pixels of one resize block along an axis (upscale/band-resize.ts): the tile's weighted
 * footprint, the kernel's margin on both sides and up to a period of alignment on both sides, never more
 * than the axis.
 */
function blockSpan(length: number, outLength: number, core: number, pad: number): number {
  const inLength = length * MODEL_SCALE;
  if (inLength === outLength) return Math.min(inLength, (core + pad) * MODEL_SCALE);
  const period = inLength / gcd(inLength, outLength);
  const shrink = inLength / outLength;
  const margin = Math.ceil(3 * Math.max(1, shrink) + 2 * Math.ceil(shrink)) + 2;
  return Math.min(inLength, (core + pad) * MODEL_SCALE + 2 * (margin + period));
}

export function estimateJobMemory(job: JobMemoryInput): JobMemoryEstimate {
  const { width, height, scale } = job;
  const outWidth = Math.max(1, Math.round(width * scale));
  const outHeight = Math.max(1, Math.round(height * scale));
  const inPixels = width * height;
  const outPixels = outWidth * outHeight;
  const channels = job.alpha ? 4 : 3;
  const sampleBytes = job.bitDepth === 16 ? 2 : 1;
  const fileBytes = job.fileBytes ?? 0;

  const inputPlanes = inPixels * (job.alpha ? 16 : 12);
  const output = outPixels * channels * sampleBytes;
  const held = fileBytes + inputPlanes + output;
  // The decoder's interleaved samples exist next to the float planes until they are converted.
  const decode = inPixels * channels * sampleBytes;

  let upscale: number;
  if (job.upscaleModel === null) {
    // A plain float resize of the whole image, rounded into the output.
    upscale = outPixels * 12 + outPixels * 2;
  } else {
    const pad = job.tilePad ?? DEFAULT_TILE_PAD;
    const core = tileCore(width, height, job.tileSize ?? 0, pad);
    const windowPixels = (core.w + 2 * pad) * (core.h + 2 * pad);
    const working =
      windowPixels * (UPSCALER_WORKING_BYTES_PER_PIXEL[job.upscaleModel] ?? UNKNOWN_UPSCALER_BYTES_PER_PIXEL);
    // The window fed to the model and its ×4 output tensor (float, 3 planes).
    const tensors = windowPixels * 12 * (1 + MODEL_SCALE * MODEL_SCALE);
    const blockIn = blockSpan(width, outWidth, core.w, pad) * blockSpan(height, outHeight, core.h, pad);
    const outRatio = outPixels / (inPixels * MODEL_SCALE * MODEL_SCALE);
    // A float block per plane (resized side by side), their resizes (16-bit codes) and the band of float rows.
    const blocks = blockIn === 0 ? 0 : 3 * (blockIn * 4 + Math.ceil(blockIn * outRatio) * 2);
    const bandRows = Math.ceil(blockSpan(height, outHeight, core.h, pad) * (outHeight / (height * MODEL_SCALE))) + 1;
    const band = outWidth * bandRows * 12;
    upscale = working + tensors + blocks + band;
  }
  if (job.alpha) upscale = Math.max(upscale, outPixels * 2);

  const faces = job.faces > 0 ? RESTORER_RUN_BYTES + job.faces * PER_FACE_BYTES : 0;

  const format = job.outputFormat ?? 'jpeg';
  const raw = outPixels * channels * sampleBytes;
  let encodedBytes: number;
  if (format === 'png' || format === 'tiff') {
    // libvips streams rows into the encoder; on photos the file can approach the raw size.
    encodedBytes = raw;
  } else if (format === 'webp') {
    // libwebp takes the whole picture (ARGB, then YUV) before it encodes.
    encodedBytes = outPixels * 6 + outPixels;
  } else {
    // The file (≈ 1 byte a pixel at quality 92 on photos), plus libjpeg's whole-image coefficient buffer
    // (2 bytes a sample, 4:4:4) while Huffman optimisation is on: up to JPEG_OPTIMISE_MAX_PIXELS (image/encode.ts).
    encodedBytes = outPixels + (outPixels <= JPEG_OPTIMISE_MAX_PIXELS ? outPixels * 6 : 0);
  }
  // With metadata kept, an uncompressed PNG carries the pixels to the final encoder.
  const encode = encodedBytes + (job.keepMetadata ? raw : 0);

  const bytes = FIXED_BYTES + held + Math.max(decode, upscale, faces, encode);
  return { bytes, parts: { held, decode, upscale, faces, encode, fixed: FIXED_BYTES } };
}

const MB = 1024 * 1024;

/**
 * MEMORY_BUDGET_EXCEEDED (permanent: no retry) when the job's estimate exceeds `budgetBytes`, with both
 * numbers and the largest scale that would fit, so the client knows what to change.
 */
export function assertFitsMemoryBudget(job: JobMemoryInput, budgetBytes: number, where = 'a worker'): void {
  const { bytes } = estimateJobMemory(job);
  if (bytes <= budgetBytes) return;
  let fits = 0;
  for (const s of [8, 6, 4, 3, 2, 1.5, 1]) {
    if (s < job.scale && estimateJobMemory({ ...job, scale: s }).bytes <= budgetBytes) {
      fits = s;
      break;
    }
  }
  const needMb = Math.ceil(bytes / MB);
  const budgetMb = Math.floor(budgetBytes / MB);
  throw new PhotoEnhanceError(
    'MEMORY_BUDGET_EXCEEDED',
    `A ${job.width}×${job.height} photo at ×${job.scale}${job.faces > 0 ? ` with ${job.faces} face(s)` : ''} needs about ${needMb} MB; ${where} has ${budgetMb} MB for one job` +
      (fits > 0 ? `. ×${fits} fits.` : '.'),
    {
      details: {
        width: job.width,
        height: job.height,
        scale: job.scale,
        faces: job.faces,
        neededMb: needMb,
        budgetMb,
        ...(fits > 0 ? { largestScaleThatFits: fits } : {}),
      },
    },
  );
}
