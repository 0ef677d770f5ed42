/**
 * The process bench/watch-cpu.bench.ts measures: one API instance and nothing else. WATCH_NOTICES=1: it listens
 * on an in-process change channel fed by the bench over IPC (one message per record write, as a notice from
 * workers or from S3 → SNS → SQS would arrive); otherwise its watch hub polls storage every SSE_POLL_MS.
 * Prints one line `READY <url>` on stdout, then runs until SIGTERM.
 */
import { createLogger, loadApiConfig, startApiServer } from '@photoenhance/api';
import { TaskRecordSchema } from '@photoenhance/contracts';
import { createInProcessTaskChannel } from '@photoenhance/core';

const config = loadApiConfig({ ...process.env, PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'silent' });
const channel = process.env.WATCH_NOTICES === '1' ? createInProcessTaskChannel() : undefined;
const api = await startApiServer(config, createLogger('silent'), channel ? { taskChanges: channel } : {});
process.on('message', (message: { taskId?: unknown; record?: unknown }) => {
  if (typeof message?.taskId !== 'string') return;
  // A notice with its record stands for a worker in this process (the embedded default): no read per change.
  const record = message.record === undefined ? undefined : TaskRecordSchema.parse(message.record);
  channel?.publish(record ? { taskId: message.taskId, record } : { taskId: message.taskId });
});
process.stdout.write(`READY ${api.url}\n`);
process.once('SIGTERM', async () => {
  await api.stop();
  process.exit(0);
});
