import {
  EnhanceFormSchema,
  EnhanceOptionsSchema,
  effectiveTask,
  enhanceOptionsFromForm,
  isValidId,
  newId,
  PhotoEnhanceError,
  parseId,
  parseJobMessage,
  serializeJobMessage,
  type TaskRecord,
  TaskRecordSchema,
} from '@photoenhance/contracts';
import { CommonEnvSchema, envInt, envList, keys, loadConfig, outputFilename, safeName } from '@photoenhance/core';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';

describe('ids', () => {
  it('accepts UUID v4 (any case, normalised) and refuses everything else', () => {
    const id = newId();
    expect(isValidId(id)).toBe(true);
    expect(parseId(id.toUpperCase())).toBe(id);
    for (const bad of ['', '../tasks/x', `${id}/..`, '00000000-0000-1000-8000-000000000000', 42, undefined]) {
      expect(isValidId(bad)).toBe(false);
      expect(() => parseId(bad)).toThrow(PhotoEnhanceError);
    }
  });

  it('never builds a key from a bad id', () => {
    expect(() => keys.taskRecord('../../etc/passwd')).toThrow(/UUID/);
  });
});

describe('safeName and output names', () => {
  it.each([
    ['photo.JPG', 'photo.JPG'],
    ['../../etc/passwd', 'passwd'],
    ['C:\\Users\\me\\My Photo (1).png', 'My_Photo_1.png'],
    ['.hidden.png', 'hidden.png'],
    ['头像.jpg', 'image.jpg'],
    ['café.webp', 'cafe.webp'],
    ['', 'image'],
  ])('%s → %s', (raw, expected) => {
    expect(safeName(raw)).toBe(expected);
  });

  it('caps the length and keeps the extension', () => {
    const name = safeName(`${'a'.repeat(300)}.png`);
    expect(name.length).toBe(100);
    expect(name.endsWith('.png')).toBe(true);
  });

  it('names the output {stem}_enhanced.{ext}', () => {
    expect(outputFilename('me.jpeg', 'png')).toBe('me_enhanced.png');
    expect(outputFilename('me.png', 'jpeg')).toBe('me_enhanced.jpg');
  });
});

describe('enhance form → options', () => {
  it('maps the seed fields and ours onto engine options', () => {
    const form = EnhanceFormSchema.parse({
      tile_size: '400',
      quality_level: 'LOW',
      scale: '2',
      face: 'false',
      face_model: 'codeformer',
      only_center_face: 'yes',
      face_blend: '0.5',
      output_format: 'jpg',
      output_quality: '80',
      keep_metadata: '1',
      precision: 'INT8',
    });
    const options = enhanceOptionsFromForm(form);
    expect(options).toMatchObject({
      tileSize: 400,
      quality: 'fast',
      precision: 'int8',
      scale: 2,
      face: { enabled: false, model: 'codeformer', onlyCenterFace: true, blend: 0.5 },
      output: { format: 'jpeg', quality: 80, keepMetadata: true },
    });
  });

  it('keeps engine defaults for fields not sent or sent empty', () => {
    expect(enhanceOptionsFromForm(EnhanceFormSchema.parse({ scale: '', quality_level: '' }))).toEqual(
      EnhanceOptionsSchema.parse({}),
    );
  });

  it.each([
    ['scale', '17'],
    ['scale', 'big'],
    ['tile_size', '-1'],
    ['quality_level', 'ultra'],
    ['precision', 'int4'],
    ['face', 'maybe'],
    ['face_model', '../../models/evil.onnx'],
    ['output_format', 'gif'],
    ['output_quality', '0'],
  ])('refuses %s=%s naming the field', (field, value) => {
    const parsed = EnhanceFormSchema.safeParse({ [field]: value });
    expect(parsed.success).toBe(false);
    expect(parsed.error?.issues[0]?.path).toEqual([field]);
  });
});

describe('job message', () => {
  it('round-trips v1 and refuses unknown versions and non-JSON', () => {
    const taskId = newId();
    const message = {
      version: 1 as const,
      taskId,
      inputKey: `inputs/${taskId}/a.png`,
      options: EnhanceOptionsSchema.parse({}),
    };
    expect(parseJobMessage(serializeJobMessage(message))).toEqual(message);
    expect(() => parseJobMessage(JSON.stringify({ ...message, version: 2 }))).toThrow(/invalid/);
    expect(() => parseJobMessage('nope')).toThrow(/not JSON/);
  });
});

describe('effectiveTask', () => {
  const now = '2025-01-01T00:00:00.000Z';
  const record: TaskRecord = TaskRecordSchema.parse({
    taskId: newId(),
    status: 'processing',
    progress: 50,
    stage: 'upscale',
    options: EnhanceOptionsSchema.parse({}),
    input: { key: 'k', filename: 'a.png', contentType: 'image/png', bytes: 1, width: 1, height: 1, format: 'png' },
    createdAt: now,
    updatedAt: now,
  });

  it('is the record itself without a cancel marker', () => {
    expect(effectiveTask(record, null)).toBe(record);
  });

  it('turns any record into cancelled when a marker exists', () => {
    const later = '2025-01-01T00:01:00.000Z';
    const done = { ...record, status: 'completed' as const };
    for (const r of [record, done]) {
      const view = effectiveTask(r, { taskId: r.taskId, requestedAt: later });
      expect(view.status).toBe('cancelled');
      expect(view.updatedAt).toBe(later);
      expect(view.result).toBeUndefined();
    }
  });
});

describe('loadConfig', () => {
  it('gives working defaults with no variables at all', () => {
    const config = loadConfig(CommonEnvSchema, {});
    expect(config).toMatchObject({
      S3_ENDPOINT: 'http://127.0.0.1:4566',
      S3_BUCKET: 'photoenhance',
      S3_FORCE_PATH_STYLE: true,
      MAX_UPLOAD_BYTES: 50 * 1024 * 1024,
      DATA_DIR: '.data',
    });
  });

  it('treats empty strings as unset and `aws` as the SDK endpoint', () => {
    const config = loadConfig(CommonEnvSchema, { S3_BUCKET: '', S3_ENDPOINT: 'aws' });
    expect(config.S3_BUCKET).toBe('photoenhance');
    expect(config.S3_ENDPOINT).toBeUndefined();
  });

  it('names each bad variable in one error', () => {
    const schema = CommonEnvSchema.extend({ PORT: envInt(8000, { min: 1, max: 65535 }) });
    const err = (() => {
      try {
        loadConfig(schema, {
          PORT: 'eighty',
          S3_ENDPOINT: 'not a url',
          S3_FORCE_PATH_STYLE: 'sometimes',
          MAX_RECEIVE_COUNT: '0',
        });
      } catch (e) {
        return e as PhotoEnhanceError;
      }
      throw new Error('expected loadConfig to throw');
    })();
    expect(err.code).toBe('INVALID_OPTIONS');
    expect(err.details?.variables).toEqual(
      expect.arrayContaining(['PORT', 'S3_ENDPOINT', 'S3_FORCE_PATH_STYLE', 'MAX_RECEIVE_COUNT']),
    );
    for (const name of ['PORT', 'S3_ENDPOINT', 'S3_FORCE_PATH_STYLE', 'MAX_RECEIVE_COUNT'])
      expect(err.message).toContain(`${name}:`);
    expect(err.message).toContain('"eighty"');
  });

  it('works with any zod object schema', () => {
    expect(loadConfig(z.object({ A: z.string().default('x') }), {})).toEqual({ A: 'x' });
  });

  it('reads a comma-separated list: trimmed, empties dropped, unset is empty, each item checked', () => {
    const schema = z.object({ URLS: envList(z.url('each must be a URL')) });
    expect(loadConfig(schema, {})).toEqual({ URLS: [] });
    expect(loadConfig(schema, { URLS: ' https://a.example/ip ,, https://b.example ' })).toEqual({
      URLS: ['https://a.example/ip', 'https://b.example'],
    });
    expect(() => loadConfig(schema, { URLS: 'https://a.example, not-a-url' })).toThrow(/URLS.*each must be a URL/);
  });
});
