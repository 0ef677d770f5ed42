import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EnhanceOptionsSchema, newId, type UploadRecordInput } from '@photoenhance/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectBackend } from '../../src/backend/connect.ts';
import { CommonEnvSchema } from '../../src/config/common.ts';
import { loadConfig } from '../../src/config/env.ts';
import { embeddedEnv, startEmbeddedBackend } from '../../src/embedded/embedded.ts';
import {
  ORPHAN_INPUT_AGE_MS,
  sweepExpiredUploads,
  sweepOrphanInputs,
  UPLOAD_MAX_AGE_MS,
} from '../../src/embedded/upload-sweeper.ts';
import { createRecords } from '../../src/records/index.ts';
import { keys } from '../../src/storage/keys.ts';
import type { Storage } from '../../src/storage/storage.ts';
import { startTestBackend, type TestBackend } from './harness.ts';

const NOW = new Date('2026-06-01T12:00:00Z');
const minutes = (n: number) => new Date(NOW.getTime() + n * 60_000).toISOString();

let backend: TestBackend;
beforeAll(async () => {
  backend = await startTestBackend();
});
afterAll(async () => {
  await backend?.dispose();
});

/** A pending direct upload as POST /api/v1/uploads leaves it, optionally with the file PUT and the task started. */
async function pending(
  storage: Storage,
  at: { createdAt: string; expiresAt: string },
  state: { uploaded?: boolean; started?: boolean } = {},
): Promise<{ taskId: string; key: string }> {
  const records = createRecords(storage);
  const taskId = newId();
  const key = keys.input(taskId, 'photo.jpg');
  const record: UploadRecordInput = {
    taskId,
    key,
    filename: 'photo.jpg',
    contentType: 'image/jpeg',
    bytes: 4,
    ...at,
  };
  await records.uploads.write(record);
  if (state.uploaded) await storage.put(key, Buffer.from('jpeg'));
  if (state.started) {
    await records.tasks.write({
      taskId,
      status: 'queued',
      progress: 0,
      stage: 'queued',
      options: EnhanceOptionsSchema.parse({}),
      input: { key, filename: 'photo.jpg', contentType: 'image/jpeg', bytes: 4, width: 1, height: 1, format: 'jpeg' },
      attempts: 0,
      createdAt: at.createdAt,
      updatedAt: at.createdAt,
    });
  }
  return { taskId, key };
}

describe('embedded sweep of expired direct uploads (uploads/)', () => {
  it('removes uploads that can never start, keeps the others, and never a started task’s input', async () => {
    const { storage } = backend;
    const records = createRecords(storage);
    const expiredEmpty = await pending(storage, { createdAt: minutes(-10), expiresAt: minutes(-5) });
    const expiredUploaded = await pending(
      storage,
      { createdAt: minutes(-10), expiresAt: minutes(-5) },
      { uploaded: true },
    );
    const live = await pending(storage, { createdAt: minutes(-1), expiresAt: minutes(4) });
    const day = UPLOAD_MAX_AGE_MS / 60_000;
    const oldUploaded = await pending(
      storage,
      { createdAt: minutes(-day - 1), expiresAt: minutes(-day + 4) },
      { uploaded: true },
    );
    const oldStarted = await pending(
      storage,
      { createdAt: minutes(-day - 1), expiresAt: minutes(-day + 4) },
      { uploaded: true, started: true },
    );

    expect(await sweepExpiredUploads(storage, { now: NOW })).toEqual({ records: 3, inputs: 1 });

    // URL expired, nothing uploaded: can never start.
    expect(await records.uploads.read(expiredEmpty.taskId)).toBeNull();
    // URL expired but the file is there: start may still come, until the day is up.
    expect(await records.uploads.read(expiredUploaded.taskId)).not.toBeNull();
    expect(await storage.head(expiredUploaded.key)).not.toBeNull();
    expect(await records.uploads.read(live.taskId)).not.toBeNull();
    // A day old: the record and the never-started input go; a started task keeps its input.
    expect(await records.uploads.read(oldUploaded.taskId)).toBeNull();
    expect(await storage.head(oldUploaded.key)).toBeNull();
    expect(await records.uploads.read(oldStarted.taskId)).toBeNull();
    expect(await storage.head(oldStarted.key)).not.toBeNull();
    expect(await records.tasks.read(oldStarted.taskId)).not.toBeNull();

    // A second pass finds nothing more to do.
    expect(await sweepExpiredUploads(storage, { now: NOW })).toEqual({ records: 0, inputs: 0 });
  });

  it('removes inputs left without a task record or pending upload once they are an hour old', async () => {
    const { storage } = backend;
    const orphan = keys.input(newId(), 'orphan.jpg');
    await storage.put(orphan, Buffer.from('jpeg'));
    const pendingUpload = await pending(
      storage,
      { createdAt: new Date().toISOString(), expiresAt: new Date(Date.now() + 300_000).toISOString() },
      { uploaded: true },
    );
    const started = await pending(
      storage,
      { createdAt: new Date().toISOString(), expiresAt: new Date().toISOString() },
      { uploaded: true, started: true },
    );
    await createRecords(storage).uploads.delete(started.taskId);

    // Young inputs stay whatever they are: their record may be a moment away.
    expect(await sweepOrphanInputs(storage)).toBe(0);
    const later = new Date(Date.now() + ORPHAN_INPUT_AGE_MS + 60_000);
    expect(await sweepOrphanInputs(storage, { now: later })).toBe(1);
    expect(await storage.head(orphan)).toBeNull();
    expect(await storage.head(pendingUpload.key)).not.toBeNull();
    expect(await storage.head(started.key)).not.toBeNull();
  });

  it('runs periodically inside the embedded backend when given the bucket', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'pe-sweep-'));
    const embedded = await startEmbeddedBackend({ dataDir, port: 0, sweepBucket: 'sweep-test', sweepIntervalMs: 100 });
    try {
      const own = await connectBackend(
        loadConfig(CommonEnvSchema, {
          ...embeddedEnv(embedded),
          S3_BUCKET: 'sweep-test',
        }),
      );
      const past = new Date(Date.now() - 60_000).toISOString();
      const gone = await pending(own.storage, { createdAt: past, expiresAt: past });
      const uploads = createRecords(own.storage).uploads;
      const deadline = Date.now() + 10_000;
      while ((await uploads.read(gone.taskId)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      expect(await uploads.read(gone.taskId)).toBeNull();
      own.close();
    } finally {
      await embedded.stop();
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
