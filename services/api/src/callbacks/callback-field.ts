import { checkCallbackUrl, PhotoEnhanceError } from '@photoenhance/contracts';
import type { ApiConfig } from '../config.ts';

/**
 * The optional `callback_url` form field of a task or batch, checked against the SSRF policy before anything is
 * stored: http(s), no credentials, no private/loopback/metadata IP literal unless CALLBACK_ALLOW_PRIVATE. Host
 * names are checked again (every resolved address) by the worker right before each delivery.
 */
export function acceptCallbackUrl(
  value: unknown,
  config: Pick<ApiConfig, 'CALLBACK_ALLOW_PRIVATE'>,
): string | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value !== 'string') {
    throw new PhotoEnhanceError('INVALID_OPTIONS', 'callback_url: must be a text field', {
      details: { fields: ['callback_url'] },
    });
  }
  return checkCallbackUrl(value, { allowPrivate: config.CALLBACK_ALLOW_PRIVATE }).toString();
}
