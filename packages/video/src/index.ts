// Video files in and out on ffmpeg/ffprobe (child processes, no native addon): probe and limits, frame-range
// decode to raw RGB, segment encode, join and stream copy. Loads no ML runtime and no AWS SDK.
export * from './assemble.ts';
export * from './binaries.ts';
export * from './decode.ts';
export * from './encode.ts';
export * from './limits.ts';
export * from './probe.ts';
export * from './run.ts';
export * from './segment.ts';
