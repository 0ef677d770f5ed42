import { EnhanceOptionsSchema, type WorkerModel } from '@photoenhance/contracts';
import { modelStatus } from '@photoenhance/models';
import { DETECTOR_MODEL, upscaleModelFor } from './engine.ts';

const TASKS = new Set<string>(['upscale', 'face-detect', 'face-restore']);

/**
 * What a worker reports at registration: the models it knows (manifest + registered), each marked ready when
 * its file is installed here, and default when a request with no model options gets it on this provider.
 */
export async function modelCatalog(provider: string): Promise<WorkerModel[]> {
  const defaults = EnhanceOptionsSchema.parse({});
  const chosen = new Set([upscaleModelFor(defaults, provider, 0), defaults.face.model, DETECTOR_MODEL]);
  const rows = await modelStatus();
  return rows
    .filter((row) => TASKS.has(row.task))
    .map((row) => ({
      id: row.id,
      task: row.task as WorkerModel['task'],
      ready: row.ready,
      default: chosen.has(row.id),
      ...(row.faceSize === undefined ? {} : { face_size: row.faceSize }),
    }));
}
