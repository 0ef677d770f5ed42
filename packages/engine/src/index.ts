// The enhancement engine: ONNX Runtime sessions, the tiled Real-ESRGAN upscaler, the face stage and the
// pipeline that runs them (in-process or on a worker thread).
export * from './face/index.ts';
export * from './pipeline/index.ts';
export * from './runtime/index.ts';
export * from './upscale/index.ts';
export * from './video/index.ts';
