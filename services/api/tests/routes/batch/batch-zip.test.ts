import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Storage } from '@photoenhance/core';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBatchZip, type ZipItem } from '../../../src/routes/batch/batch-zip.ts';
import { startTestApi, type TestApi } from '../../harness.ts';

const log = pino({ level: 'silent' });
const OBJECT_BYTES = 1024 * 1024;

let api: TestApi;
let items: ZipItem[];
let objects: Buffer[];
beforeAll(async () => {
  api = await startTestApi();
  objects = [randomBytes(OBJECT_BYTES), randomBytes(OBJECT_BYTES), randomBytes(OBJECT_BYTES)];
  items = objects.map((_, i) => ({
    taskId: `t${i}`,
    original: `in${i}.png`,
    name: `out${i}.png`,
    key: `zip-test/${i}.png`,
  }));
  await Promise.all(objects.map((bytes, i) => api.backend.storage.put(`zip-test/${i}.png`, bytes)));
});
afterAll(async () => {
  await api?.dispose();
});

/** The real storage, counting fetches and whether each fetched body was fully read or destroyed. */
function countingStorage(storage: Storage) {
  const fetched: string[] = [];
  const bodies: Array<{ destroyed: boolean; ended: boolean }> = [];
  return {
    fetched,
    bodies,
    storage: {
      async getStream(key: string) {
        fetched.push(key);
        const object = await storage.getStream(key);
        const state = { destroyed: false, ended: false };
        bodies.push(state);
        object.body.on('close', () => {
          state.destroyed = !state.ended;
        });
        object.body.on('end', () => {
          state.ended = true;
        });
        return object;
      },
    },
  };
}

async function readAll(stream: AsyncIterable<unknown>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

describe('createBatchZip', () => {
  it('fetches one object at a time, only as fast as the archive is read', async () => {
    const counting = countingStorage(api.backend.storage);
    const archive = createBatchZip(
      counting.storage,
      { batchId: 'b', createdAt: new Date().toISOString(), items, failures: [] },
      log,
    );
    // Nobody reads: backpressure must stop the feeding loop inside the first object.
    await sleep(500);
    expect(counting.fetched).toEqual(['zip-test/0.png']);

    const zip = await readAll(archive);
    expect(counting.fetched).toEqual(items.map((i) => i.key));
    expect(counting.bodies.every((b) => b.ended)).toBe(true);
    // Stored, not deflated: every object appears verbatim, and the archive is barely larger than its content.
    for (const bytes of objects) expect(zip.includes(bytes)).toBe(true);
    expect(zip.length).toBeLessThan(3 * OBJECT_BYTES + 4096);
  });

  it('stops fetching and releases the S3 body when the client goes away', async () => {
    const counting = countingStorage(api.backend.storage);
    const archive = createBatchZip(
      counting.storage,
      { batchId: 'b', createdAt: new Date().toISOString(), items, failures: [] },
      log,
    );
    for await (const _chunk of archive) break; // one chunk, then the consumer is gone (destroys the archive)
    await sleep(300);
    expect(counting.fetched).toEqual(['zip-test/0.png']);
    expect(counting.bodies[0]?.destroyed).toBe(true);
  });

  it('lists a result that cannot be fetched in the manifest instead of failing the archive', async () => {
    const missing: ZipItem = {
      taskId: 'gone',
      original: 'gone.png',
      name: 'gone_enhanced.png',
      key: 'zip-test/missing.png',
    };
    const archive = createBatchZip(
      api.backend.storage,
      { batchId: 'b', createdAt: new Date().toISOString(), items: [missing, items[0] as ZipItem], failures: [] },
      log,
    );
    const zip = await readAll(archive);
    expect(zip.includes(objects[0] as Buffer)).toBe(true);
    expect(zip.includes(Buffer.from('gone_enhanced.png'))).toBe(false);
    // The manifest is stored (not deflated), so its JSON sits verbatim in the archive.
    const start = zip.indexOf(Buffer.from('{\n  "batch_id"'));
    const end = zip.indexOf(Buffer.from('\n}\n'), start) + 2;
    const manifest = JSON.parse(zip.subarray(start, end).toString('utf8'));
    expect(manifest.files).toEqual([{ task_id: 't0', original: 'in0.png', file: 'out0.png', bytes: OBJECT_BYTES }]);
    expect(manifest.failures).toEqual([
      {
        task_id: 'gone',
        original: 'gone.png',
        status: 'completed',
        error: { code: 'NOT_FOUND', message: 'The result could not be read from storage' },
      },
    ]);
  });
});
