import { stat } from 'node:fs/promises';
import {
  type CopiedStream,
  PhotoEnhanceError,
  type Rational,
  type VideoProbe,
  VideoProbeSchema,
} from '@photoenhance/contracts';
import { z } from 'zod';
import { ffmpegBinaries } from './binaries.ts';
import { runTool, stderrTail } from './run.ts';

// ffprobe's JSON, only the fields we read. Parsed with zod like any outside shape: a hostile file must
// not turn into a half-read probe.
const StreamSchema = z.object({
  index: z.number().int(),
  codec_type: z.string().optional(),
  codec_name: z.string().optional(),
  width: z.number().int().optional(),
  height: z.number().int().optional(),
  pix_fmt: z.string().optional(),
  bits_per_raw_sample: z.string().optional(),
  color_transfer: z.string().optional(),
  time_base: z.string().optional(),
  r_frame_rate: z.string().optional(),
  avg_frame_rate: z.string().optional(),
  tags: z.record(z.string(), z.string()).optional(),
  disposition: z.record(z.string(), z.number()).optional(),
  side_data_list: z.array(z.record(z.string(), z.unknown())).optional(),
});
const PacketSchema = z.object({
  stream_index: z.number().int(),
  pts: z.number().int().optional(),
  pos: z.string().optional(),
  size: z.string().optional(),
  flags: z.string().optional(),
});
const ProbeJsonSchema = z.object({
  streams: z.array(StreamSchema).default([]),
  packets: z.array(PacketSchema).default([]),
  format: z
    .object({ format_name: z.string(), duration: z.string().optional(), start_time: z.string().optional() })
    .optional(),
});

/** Transfer functions of HDR video: mapping them to 8-bit sRGB needs tone mapping, which we do not do. */
const HDR_TRANSFERS = new Set(['smpte2084', 'arib-std-b67']);

function rational(text: string | undefined): Rational | undefined {
  const match = /^(\d+)\/(\d+)$/.exec(text ?? '');
  if (!match) return undefined;
  const num = Number(match[1]);
  const den = Number(match[2]);
  return num > 0 && den > 0 ? { num, den } : undefined;
}

function corrupt(message: string, details?: Record<string, unknown>): PhotoEnhanceError {
  return new PhotoEnhanceError('CORRUPT_VIDEO', message, details ? { details } : {});
}

/** Display rotation as ffprobe reports the display matrix (or an old `rotate` tag), in 0–270. */
function rotationOf(stream: z.infer<typeof StreamSchema>): VideoProbe['rotation'] {
  const matrix = stream.side_data_list?.find((side) => typeof side.rotation === 'number');
  const degrees = matrix ? (matrix.rotation as number) : Number(stream.tags?.rotate ?? 0);
  const normalized = (((Math.round(degrees / 90) * 90) % 360) + 360) % 360;
  return normalized as VideoProbe['rotation'];
}

function bitDepthOf(stream: z.infer<typeof StreamSchema>): number {
  const raw = Number(stream.bits_per_raw_sample);
  if (Number.isInteger(raw) && raw > 0) return raw;
  const fromFormat = /p(9|10|12|14|16)(le|be)?$/.exec(stream.pix_fmt ?? '');
  return fromFormat ? Number(fromFormat[1]) : 8;
}

export interface ProbeOptions {
  signal?: AbortSignal;
  /**
   * The object's size, when `input` is an http(s) URL (a presigned GET of a direct upload: ffprobe reads it with
   * range requests, the API never holds the file). Without it `input` is a local file and is stat'ed.
   */
  bytes?: number;
}

/**
 * Reads a clip's container, first video stream, the streams copied to the result and every video packet's
 * time — a packet scan, no decoding (the API probes uploads with it). Throws UNSUPPORTED_FORMAT (not a
 * video, no video stream, HDR, frames without timestamps) or CORRUPT_VIDEO (unreadable, truncated).
 */
export async function probeVideo(path: string, options: ProbeOptions = {}): Promise<VideoProbe> {
  const { ffprobe } = ffmpegBinaries();
  const fileSize = options.bytes ?? (await stat(path)).size;
  if (fileSize === 0) throw new PhotoEnhanceError('EMPTY_FILE', 'The file is empty');
  let stdout: Buffer;
  let stderr: string;
  try {
    ({ stdout, stderr } = await runTool(
      ffprobe,
      [
        ...['-v', 'error', '-print_format', 'json', '-show_format', '-show_streams'],
        ...['-show_entries', 'packet=stream_index,pts,pos,size,flags', path],
      ],
      { signal: options.signal, maxStdoutBytes: 512 * 1024 * 1024 },
    ));
  } catch (err) {
    if (err instanceof PhotoEnhanceError) throw err;
    throw new PhotoEnhanceError('UNSUPPORTED_FORMAT', 'The file is not a video ffprobe can read', {
      // The cause is logged: it must not carry a presigned URL either.
      cause: new Error(String((err as Error).message).replaceAll(path, 'input')),
      // ffprobe names the file: the scratch path (or presigned URL) is the server's business, not the client's.
      details: { reason: stderrTail((err as { stderr?: string }).stderr ?? '', 2).replaceAll(path, 'input') },
    });
  }
  const parsed = ProbeJsonSchema.safeParse(JSON.parse(stdout.toString('utf8')));
  if (!parsed.success || !parsed.data.format) {
    throw new PhotoEnhanceError('UNSUPPORTED_FORMAT', 'The file is not a video ffprobe can read');
  }
  const { streams, packets, format } = parsed.data;
  const video = streams.find(
    (s) => s.codec_type === 'video' && !s.disposition?.attached_pic && s.width && s.height && s.codec_name,
  );
  // Still images (a PNG, a JPEG) are "video" to ffprobe with one frame: not a clip.
  if (!video || /^(image2|png_pipe|jpeg_pipe|webp_pipe|gif|bmp_pipe|tiff_pipe)/.test(format.format_name)) {
    throw new PhotoEnhanceError('UNSUPPORTED_FORMAT', 'The file has no video stream (send photos to /api/v1/enhance)');
  }
  if (video.color_transfer && HDR_TRANSFERS.has(video.color_transfer)) {
    throw new PhotoEnhanceError(
      'UNSUPPORTED_FORMAT',
      `HDR video (${video.color_transfer} transfer) is not supported: the engine works on 8-bit SDR frames and tone mapping is not done. Convert the clip to SDR first.`,
      { details: { colorTransfer: video.color_transfer } },
    );
  }
  // A file cut short: the index points past the end (MP4 with its index first), or the demuxer met the end early.
  let end = 0;
  for (const packet of packets) {
    const pos = Number(packet.pos);
    const size = Number(packet.size);
    if (Number.isFinite(pos) && Number.isFinite(size) && pos >= 0) end = Math.max(end, pos + size);
  }
  if (end > fileSize || /(truncat|end of file|Invalid data|partial file|error reading)/i.test(stderr)) {
    throw corrupt('The video is truncated or damaged: its data ends before its frames do', {
      fileBytes: fileSize,
      neededBytes: end,
    });
  }
  const timeBase = rational(video.time_base);
  const videoPackets = packets.filter((p) => p.stream_index === video.index && !p.flags?.includes('D'));
  if (!timeBase || videoPackets.length === 0) throw corrupt('The video stream has no frames');
  if (videoPackets.some((p) => p.pts === undefined)) {
    throw new PhotoEnhanceError(
      'UNSUPPORTED_FORMAT',
      'The video frames carry no timestamps (raw elementary stream or AVI): remux it to MP4 or MKV first',
    );
  }
  const frameTimes = videoPackets.map((p) => p.pts as number).sort((a, b) => a - b);
  const deltas = frameTimes.slice(1).map((t, i) => t - (frameTimes[i] as number));
  const first = frameTimes[0] as number;
  const last = frameTimes[frameTimes.length - 1] as number;
  const constantFrameRate = deltas.length === 0 || deltas.every((d) => Math.abs(d - (deltas[0] as number)) <= 1);
  const fps = constantFrameRate ? rational(video.r_frame_rate) : rational(video.avg_frame_rate);
  const meanDelta = deltas.length ? (last - first) / deltas.length : 0;
  const frameRate =
    fps ??
    (meanDelta > 0
      ? { num: Math.round((timeBase.den / (meanDelta * timeBase.num)) * 1000), den: 1000 }
      : { num: 25, den: 1 });
  const rotation = rotationOf(video);
  const quarter = rotation === 90 || rotation === 270;
  const lastDuration = deltas.length ? (deltas[deltas.length - 1] as number) : 0;
  const streamDuration = ((last - first + lastDuration) * timeBase.num) / timeBase.den;
  const durationSeconds = Number(format.duration) > 0 ? Number(format.duration) : streamDuration || 1 / 25;
  const copied: CopiedStream[] = streams
    .filter((s) => (s.codec_type === 'audio' || s.codec_type === 'subtitle') && s.codec_name)
    .map((s) => ({
      index: s.index,
      kind: s.codec_type as CopiedStream['kind'],
      codec: s.codec_name as string,
      ...(s.tags?.language ? { language: s.tags.language } : {}),
    }));
  return VideoProbeSchema.parse({
    container: format.format_name,
    codec: video.codec_name,
    width: quarter ? video.height : video.width,
    height: quarter ? video.width : video.height,
    rotation,
    pixelFormat: video.pix_fmt ?? 'unknown',
    bitDepth: bitDepthOf(video),
    timeBase,
    frameRate,
    constantFrameRate,
    frameCount: frameTimes.length,
    durationSeconds,
    containerStartSeconds: Number(format.start_time) || 0,
    frameTimes,
    streams: copied,
  });
}
