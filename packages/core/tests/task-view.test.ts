import {
  imageSummary,
  newId,
  type TaskError,
  TaskRecordSchema,
  taskErrorView,
  taskUrls,
} from '@photoenhance/contracts';
import { taskCallbackPayload } from '@photoenhance/core';
import { describe, expect, it } from 'vitest';

describe('task views', () => {
  it('builds relative links without a base URL and absolute ones under it, trailing slashes dropped', () => {
    const id = newId();
    expect(taskUrls(undefined, id)).toEqual({ status: `/api/v1/status/${id}`, download: `/api/v1/download/${id}` });
    for (const base of ['https://photos.example', 'https://photos.example/', 'https://photos.example//']) {
      expect(taskUrls(base, id)).toEqual({
        status: `https://photos.example/api/v1/status/${id}`,
        download: `https://photos.example/api/v1/download/${id}`,
      });
    }
  });

  it('summarises an image without its storage key or engine details', () => {
    const result = {
      key: 'outputs/x/me_enhanced.png',
      filename: 'me_enhanced.png',
      format: 'png',
      width: 64,
      height: 48,
      bytes: 1234,
      faces: { detected: 1, restored: 1, skipped: [] },
      models: ['realesrgan-x4fast'],
    };
    expect(imageSummary(result)).toStrictEqual({
      filename: 'me_enhanced.png',
      format: 'png',
      width: 64,
      height: 48,
      bytes: 1234,
    });
  });

  it('shows an error as code and message only', () => {
    const stored: TaskError & { details?: unknown } = {
      code: 'CORRUPT_IMAGE',
      message: 'The image could not be decoded',
      details: { offset: 12 },
    };
    expect(taskErrorView(stored)).toStrictEqual({ code: 'CORRUPT_IMAGE', message: 'The image could not be decoded' });
  });

  it('gives the webhook body of a completed task its links and result summary', () => {
    const taskId = newId();
    const now = new Date().toISOString();
    const record = TaskRecordSchema.parse({
      taskId,
      status: 'completed',
      options: {},
      input: {
        key: `inputs/${taskId}/me.png`,
        filename: 'me.png',
        contentType: 'image/png',
        bytes: 99,
        width: 8,
        height: 6,
        format: 'png',
      },
      result: {
        key: `outputs/${taskId}/me_enhanced.png`,
        filename: 'me_enhanced.png',
        bytes: 400,
        format: 'png',
        width: 16,
        height: 12,
        faces: { detected: 0, restored: 0 },
      },
      createdAt: now,
      updatedAt: now,
      completedAt: now,
    });
    const payload = taskCallbackPayload(record, 'https://photos.example/');
    expect(payload?.status_url).toBe(`https://photos.example/api/v1/status/${taskId}`);
    expect(payload?.created_at).toBe(Date.parse(now) / 1000);
    expect(payload?.created_at_iso).toBe(now);
    expect(payload?.result).toStrictEqual({
      filename: 'me_enhanced.png',
      format: 'png',
      width: 16,
      height: 12,
      bytes: 400,
      download_url: `https://photos.example/api/v1/download/${taskId}`,
    });
  });
});
