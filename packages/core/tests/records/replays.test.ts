import { randomBytes } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { createReplayRepository } from '../../src/records/replays.ts';
import { startTestBackend, type TestBackend } from '../backend/harness.ts';

let backend: TestBackend;
beforeAll(async () => {
  backend = await startTestBackend();
});
afterAll(async () => {
  await backend?.dispose();
});
afterEach(() => {
  vi.restoreAllMocks();
});

describe('replay repository on fauxqs', () => {
  it('claims a signature once, refuses it after, and stores its empty marker with a known length', async () => {
    // The AWS SDK warns on console about a PutObject without Content-Length ("Stream of unknown length"):
    // every worker registration used to print it at `npm start`.
    const warn = vi.spyOn(console, 'warn');
    const replays = createReplayRepository(backend.storage);
    const digest = randomBytes(32).toString('hex');
    expect(await replays.claim(digest)).toBe(true);
    expect(await replays.claim(digest)).toBe(false);
    expect(await replays.claim(randomBytes(32).toString('hex'))).toBe(true);
    expect(warn.mock.calls.map((call) => String(call[0]))).toEqual([]);
  });
});
