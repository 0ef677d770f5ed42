import {
  ENHANCE_FORM_FIELDS,
  EnhanceFormSchema,
  type EnhanceOptions,
  enhanceOptionsFromForm,
  mimeTypeFor,
  PhotoEnhanceError,
} from '@photoenhance/contracts';
import { safeName } from '@photoenhance/core';
import { checkOutputSize, type ProbeResult, probeImage } from '@photoenhance/image';
import { fromZodError } from '../http/errors.ts';
import { assertImageComplete } from './completeness.ts';

export interface UploadLimits {
  maxFileBytes: number;
  maxInputPixels: number;
  maxOutputPixels: number;
}

export interface ValidatedUpload {
  bytes: Buffer;
  filename: string;
  probe: ProbeResult;
  options: EnhanceOptions;
}

/** From the sniffed format, never from the client's claimed MIME type. */
export function contentTypeFor(format: string): string {
  return mimeTypeFor(format);
}

/** Form fields → engine options; 400 INVALID_OPTIONS naming the field. Unknown fields are ignored. */
export function parseEnhanceFields(body: Record<string, unknown>): EnhanceOptions {
  const fields: Record<string, unknown> = {};
  for (const name of ENHANCE_FORM_FIELDS) {
    const value = body[name];
    if (value === undefined) continue;
    if (typeof value !== 'string') {
      throw new PhotoEnhanceError('INVALID_OPTIONS', `${name}: must be a text field`, { details: { fields: [name] } });
    }
    fields[name] = value;
  }
  const parsed = EnhanceFormSchema.safeParse(fields);
  if (!parsed.success) throw fromZodError(parsed.error);
  return enhanceOptionsFromForm(parsed.data);
}

/**
 * Everything that can refuse an upload, in order of cost, before anything is stored: options, presence,
 * size, format sniffing and header limits (probeImage), completeness, and the output size for the scale.
 */
export async function validateUpload(body: Record<string, unknown>, limits: UploadLimits): Promise<ValidatedUpload> {
  const options = parseEnhanceFields(body);
  const file = body.file;
  if (!(file instanceof File)) {
    throw new PhotoEnhanceError('INVALID_INPUT', 'Send the image as the multipart field "file"', {
      details: { field: 'file' },
    });
  }
  if (file.size === 0) throw new PhotoEnhanceError('EMPTY_FILE', 'The file is empty', { details: { bytes: 0 } });
  if (file.size > limits.maxFileBytes) {
    throw new PhotoEnhanceError(
      'FILE_TOO_LARGE',
      `The file is ${file.size} bytes; the limit is ${limits.maxFileBytes} bytes`,
      {
        details: { bytes: file.size, maxFileBytes: limits.maxFileBytes },
      },
    );
  }
  const bytes = Buffer.from(await file.arrayBuffer());
  const probe = await probeImage(bytes, { maxFileBytes: limits.maxFileBytes, maxInputPixels: limits.maxInputPixels });
  assertImageComplete(bytes, probe.format);
  checkOutputSize(probe.width, probe.height, options.scale, { maxOutputPixels: limits.maxOutputPixels });
  return { bytes, filename: safeName(file.name, 'image'), probe, options };
}
