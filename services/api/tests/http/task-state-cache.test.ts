import type { TaskRecord } from '@photoenhance/contracts';
import { describe, expect, it } from 'vitest';
import { createTaskStateCache } from '../../src/http/task-state-cache.ts';

function fakeStorage(fail = false) {
  let reads = 0;
  let version = 0;
  return {
    get reads() {
      return reads;
    },
    bump() {
      version++;
    },
    // A real Storage would hit S3; counting reads is the behaviour under test here.
    async readState(taskId: string) {
      reads++;
      await new Promise((r) => setTimeout(r, 5));
      if (fail) throw new Error('storage down');
      return { taskId, progress: version } as unknown as TaskRecord;
    },
  };
}

describe('task state cache', () => {
  it('coalesces concurrent reads and reuses the answer within the TTL', async () => {
    const storage = fakeStorage();
    const cache = createTaskStateCache(storage, 1000);
    const results = await Promise.all(Array.from({ length: 20 }, () => cache.read('a')));
    expect(storage.reads).toBe(1);
    expect(new Set(results).size).toBe(1);
    await cache.read('b');
    expect(storage.reads).toBe(2);
  });

  it('reads storage again after the TTL and after forget()', async () => {
    const storage = fakeStorage();
    const cache = createTaskStateCache(storage, 20);
    expect((await cache.read('a'))?.progress).toBe(0);
    storage.bump();
    await new Promise((r) => setTimeout(r, 30));
    expect((await cache.read('a'))?.progress).toBe(1);
    storage.bump();
    cache.forget('a');
    expect((await cache.read('a'))?.progress).toBe(2);
    expect(storage.reads).toBe(3);
  });

  it('does not keep failed reads, and TTL 0 disables caching', async () => {
    const failing = fakeStorage(true);
    const cache = createTaskStateCache(failing, 1000);
    await expect(cache.read('a')).rejects.toThrow('storage down');
    await expect(cache.read('a')).rejects.toThrow('storage down');
    expect(failing.reads).toBe(2);
    const storage = fakeStorage();
    const off = createTaskStateCache(storage, 0);
    await Promise.all([off.read('a'), off.read('a')]);
    expect(storage.reads).toBe(2);
  });
});
