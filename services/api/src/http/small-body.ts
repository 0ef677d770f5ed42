import { PhotoEnhanceError } from '@photoenhance/contracts';
import type { Context } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import type { AppEnv } from './env.ts';
import { unreadableBody } from './request.ts';

/**
 * Small option bodies (direct-upload requests and starts, photo and video): JSON, a form, or nothing at all.
 * Hand-written over c.req.json()/parseBody() for the one answer per fault (413-free INVALID_INPUT, a 400 for a
 * malformed body, {} for none) that these routes document. They are a few hundred bytes.
 */
const MAX_JSON_BYTES = 16 * 1024;

export function jsonLimit() {
  return bodyLimit({
    maxSize: MAX_JSON_BYTES,
    onError: () => {
      throw new PhotoEnhanceError('INVALID_INPUT', `The request body is larger than ${MAX_JSON_BYTES} bytes`);
    },
  });
}

/** The body as an object: JSON, a form, or nothing at all (→ {}). */
export async function readBody(c: Context<AppEnv>): Promise<Record<string, unknown>> {
  const type = (c.req.header('content-type') ?? '').toLowerCase();
  if (type.startsWith('multipart/form-data') || type.startsWith('application/x-www-form-urlencoded')) {
    try {
      return (await c.req.parseBody()) as Record<string, unknown>;
    } catch (cause) {
      // A malformed multipart body (no boundary, cut off) is the client's error, not a 500 (found by test/chaos).
      throw unreadableBody(cause);
    }
  }
  const text = await c.req.text();
  if (!text.trim()) return {};
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (cause) {
    throw new PhotoEnhanceError('INVALID_INPUT', 'The request body is not valid JSON', { cause });
  }
  if (!json || typeof json !== 'object' || Array.isArray(json)) {
    throw new PhotoEnhanceError('INVALID_INPUT', 'The request body must be a JSON object');
  }
  return json as Record<string, unknown>;
}
