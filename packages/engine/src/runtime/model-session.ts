import { PhotoEnhanceError } from '@photoenhance/contracts';
import type * as ort from 'onnxruntime-node';

export type Feeds = Record<string, ort.Tensor>;
export type Outputs = Record<string, ort.Tensor>;

/** One loaded model: the ORT session plus what callers need to feed it without looking inside. */
export interface ModelSession {
  id: string;
  session: ort.InferenceSession;
  inputNames: readonly string[];
  outputNames: readonly string[];
  inputMetadata: readonly ort.InferenceSession.ValueMetadata[];
  outputMetadata: readonly ort.InferenceSession.ValueMetadata[];
  /** The provider the session was created with ('cpu', 'cuda'…); nodes the EP lacks still run on CPU. */
  provider: string;
  /** session.run with ORT failures turned into PhotoEnhanceError (OUT_OF_MEMORY is retryable). */
  run(feeds: Feeds): Promise<Outputs>;
}

const ALLOCATION_FAILURE = /alloc|out of memory|bad_alloc|OOM/i;

export function wrapSession(id: string, session: ort.InferenceSession, provider: string): ModelSession {
  return {
    id,
    session,
    inputNames: session.inputNames,
    outputNames: session.outputNames,
    inputMetadata: session.inputMetadata,
    outputMetadata: session.outputMetadata,
    provider,
    async run(feeds) {
      try {
        return (await session.run(feeds)) as Outputs;
      } catch (err) {
        const message = err instanceof Error ? err.message : String(err);
        if (ALLOCATION_FAILURE.test(message)) {
          throw new PhotoEnhanceError('OUT_OF_MEMORY', `Model ${id} ran out of memory (try a smaller tile size)`, {
            cause: err,
            details: { model: id },
          });
        }
        throw new PhotoEnhanceError('INTERNAL', `Model ${id} failed to run: ${message}`, {
          cause: err,
          details: { model: id },
        });
      }
    },
  };
}
