import { totalmem } from 'node:os';
import { assertFitsMemoryBudget, type JobMemoryInput } from '@photoenhance/contracts';

/**
 * What one job may use, as the engine's config carries it (plain data: it crosses to the engine thread).
 * `budgetBytes`: a fixed budget per job (WORKER_MEMORY_BUDGET_MB, the CLI's --memory-budget). Else
 * `limitBytes`: the memory the process may reach (cgroup limit or RAM), less what it holds when the job
 * starts — the runtime and the models it has loaded by then.
 */
export interface MemoryBudgetConfig {
  budgetBytes?: number;
  limitBytes?: number;
  /** Who has the budget, for the refusal's message ("this worker", "this machine"). */
  holder?: string;
}

/** The memory this process may reach: the container's cgroup limit when there is one, else the machine's RAM. */
export function processMemoryLimit(): number {
  // constrainedMemory() is 0 without a limit, and a huge number for an unlimited cgroup: never above RAM.
  const constrained = process.constrainedMemory?.() ?? 0;
  return constrained > 0 ? Math.min(constrained, totalmem()) : totalmem();
}

/** The bytes a job may use now, or undefined when no budget is configured. */
export function jobMemoryBudget(config: MemoryBudgetConfig | undefined): number | undefined {
  if (!config) return undefined;
  if (config.budgetBytes !== undefined) return config.budgetBytes;
  if (config.limitBytes !== undefined) return Math.max(0, config.limitBytes - process.memoryUsage().rss);
  return undefined;
}

/** Throws MEMORY_BUDGET_EXCEEDED (permanent) before a job that would not fit starts its next stage. */
export function admitJob(config: MemoryBudgetConfig | undefined, job: JobMemoryInput): void {
  const budget = jobMemoryBudget(config);
  if (budget === undefined) return;
  assertFitsMemoryBudget(job, budget, config?.holder ?? 'this worker');
}
