/**
 * A task's states as plain lists (no zod: the browser bundle imports this module as
 * `@photoenhance/contracts/task-states`); TaskStatusSchema in task.ts is built from them. The terminal
 * states are also the names of the terminal events of a task's event stream (events.ts).
 */
export const TASK_STATUSES = ['queued', 'processing', 'completed', 'failed', 'cancelled'] as const;
export type TaskStatus = (typeof TASK_STATUSES)[number];

export const TERMINAL_STATUSES: ReadonlySet<TaskStatus> = new Set(['completed', 'failed', 'cancelled']);
export function isTerminalStatus(status: TaskStatus): boolean {
  return TERMINAL_STATUSES.has(status);
}
