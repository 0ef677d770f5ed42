import type { TaskChangeChannel, TaskRepository } from '@photoenhance/core';

/**
 * The task repository, announcing every record it wrote on the change channel, so the API instances holding
 * viewers read the record once per change instead of polling it (docs/design.md §7). The notice goes out after
 * the write succeeded: a reader that gets it always finds the new record. It carries that record too, which a
 * listener in the same process uses instead of reading it again (the SNS/SQS channel sends only the id).
 */
export function withChangeNotices<T extends Pick<TaskRepository, 'write' | 'writeVersioned'>>(
  tasks: T,
  channel: TaskChangeChannel | undefined,
): T {
  if (!channel) return tasks;
  return {
    ...tasks,
    async write(record) {
      const written = await tasks.write(record);
      channel.publish({ taskId: written.taskId, record: written });
      return written;
    },
    async writeVersioned(record, conditions) {
      const written = await tasks.writeVersioned(record, conditions);
      channel.publish({ taskId: written.record.taskId, record: written.record });
      return written;
    },
  };
}
