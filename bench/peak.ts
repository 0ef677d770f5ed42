/** The machine's practical ORT peak, measured in the same run as what is compared with it. */
import { performance } from 'node:perf_hooks';
import { OnnxGraphBuilder } from '@photoenhance/models';
import * as ort from 'onnxruntime-node';

/** One big MatMul through the same runtime and thread count: GFLOP/s, median of 5 runs after a warm-up. */
export async function matmulPeak(threads: number, n = 2048): Promise<number> {
  const bytes = new OnnxGraphBuilder('matmul')
    .input('a', [n, n])
    .input('b', [n, n])
    .output('c', [n, n])
    .node('MatMul', ['a', 'b'], ['c'])
    .toBytes();
  const session = await ort.InferenceSession.create(bytes, { intraOpNumThreads: threads, logSeverityLevel: 3 });
  const a = new ort.Tensor(
    'float32',
    Float32Array.from({ length: n * n }, () => Math.random()),
    [n, n],
  );
  await session.run({ a, b: a });
  const times: number[] = [];
  for (let i = 0; i < 5; i++) {
    const t = performance.now();
    await session.run({ a, b: a });
    times.push((performance.now() - t) / 1000);
  }
  await session.release();
  const median = [...times].sort((x, y) => x - y)[2] as number;
  return (2 * n ** 3) / median / 1e9;
}
