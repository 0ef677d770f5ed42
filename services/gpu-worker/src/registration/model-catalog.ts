import { EnhanceOptionsSchema, type WorkerModel } from '@photoenhance/contracts';
import { DETECTOR_MODEL, upscaleModelFor } from '@photoenhance/engine';
import { modelStatus } from '@photoenhance/models';

const TASKS = new Set<string>(['upscale', 'face-detect', 'face-restore']);

/**
 * The models this worker knows (manifest + registered), each marked ready when its file is installed here,
 * and default when a request with no model options gets it on this worker's execution provider.
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
    }));
}
