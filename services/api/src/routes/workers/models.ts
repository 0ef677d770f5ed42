import type { ModelSummary, WorkerSummary } from './schemas.ts';

const TASK_ORDER = { upscale: 0, 'face-restore': 1, 'face-detect': 2 } as const;

/**
 * One row per model id over the given workers: ready when any of them has it installed, default when any of
 * them picks it by default (a GPU worker and a CPU worker may pick different upscalers).
 */
export function mergeModels(workers: readonly Pick<WorkerSummary, 'catalog'>[]): ModelSummary[] {
  const byId = new Map<string, ModelSummary>();
  for (const worker of workers) {
    for (const model of worker.catalog) {
      const row = byId.get(model.id) ?? { ...model, ready: false, default: false, workers_ready: 0 };
      row.ready ||= model.ready;
      row.default ||= model.default;
      if (model.ready) row.workers_ready += 1;
      byId.set(model.id, row);
    }
  }
  return [...byId.values()].sort((a, b) => TASK_ORDER[a.task] - TASK_ORDER[b.task] || a.id.localeCompare(b.id));
}
