/**
 * `node bench/quota.bench.ts`: what MAX_ACTIVE_TASKS_PER_KEY costs a task creation on the embedded backend — one
 * listing of the tenant's active/ markers plus one state read per unfinished task (services/api/src/tasks/active-quota.ts),
 * for a tenant with 0, 10, 99 and 100 unfinished tasks against a limit of 100. Results in bench/RESULTS.md (Security).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createActiveTaskQuota, ownerIdForKey } from '@photoenhance/api';
import { newId } from '@photoenhance/contracts';
import {
  CommonEnvSchema,
  connectBackend,
  createRecords,
  embeddedEnv,
  loadConfig,
  startEmbeddedBackend,
} from '@photoenhance/core';
import { median, time } from './measure.ts';

const RUNS = 15;
const dataDir = await mkdtemp(join(tmpdir(), 'pe-quota-bench-'));
const embedded = await startEmbeddedBackend({ dataDir, port: 0 });
const backend = await connectBackend(
  loadConfig(CommonEnvSchema, {
    ...embeddedEnv(embedded),
    S3_ENDPOINT: embedded.s3Endpoint,
    SQS_ENDPOINT: embedded.sqsEndpoint,
    LOG_LEVEL: 'silent',
  }),
);
const records = createRecords(backend.storage);
// At the limit, so every marker is checked (below it a check is one listing).
const quota = createActiveTaskQuota({ records, limit: 100 });
console.log(
  `CPU: ${cpus()[0]?.model} ×${cpus().length}, load ${loadavg()
    .map((l) => l.toFixed(1))
    .join(' ')}`,
);
try {
  for (const active of [0, 10, 99, 100]) {
    const owner = ownerIdForKey(`bench-key-${active}-0123456789`);
    const now = new Date().toISOString();
    for (let i = 0; i < active; i++) {
      const taskId = newId();
      await records.tasks.write({
        taskId,
        owner,
        status: 'queued',
        options: { scale: 2 },
        input: {
          key: `inputs/${taskId}/a.png`,
          filename: 'a.png',
          contentType: 'image/png',
          bytes: 1,
          width: 1,
          height: 1,
          format: 'png',
        },
        createdAt: now,
        updatedAt: now,
      });
      await records.active.add(owner, taskId);
    }
    const tenant = { owner, admin: false };
    const seconds: number[] = [];
    // At 100 the check refuses (QUOTA_EXCEEDED): its cost is what is measured.
    for (let run = 0; run < RUNS; run++) {
      seconds.push((await time(() => quota.check(tenant, 1).catch(() => undefined)))[1]);
    }
    console.log(
      `${active} unfinished tasks: first quota check ${((seconds[0] ?? 0) * 1000).toFixed(1)} ms, then median ${(median(seconds.slice(1)) * 1000).toFixed(1)} ms over ${RUNS - 1} runs`,
    );
  }
} finally {
  backend.close();
  await embedded.stop();
  await rm(dataDir, { recursive: true, force: true });
}
