/**
 * Object keys the embedded backend refuses before they reach its file store: `.`/`..` segments (encoded or
 * not), empty segments, backslashes and control characters. fauxqs maps keys onto files under its data
 * directory, and the service itself only ever writes keys built from validated ids (design.md §3), so
 * anything of this shape is a path trick.
 */
export function unsafeKeyReason(key: string): string | undefined {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are exactly what is refused
  if (/[\u0000-\u001f\u007f\\]/.test(key)) return 'control characters or backslashes';
  for (const segment of key.split('/')) {
    if (segment === '.' || segment === '..') return 'a "." or ".." segment';
  }
  if (key.startsWith('/') || key.includes('//')) return 'an empty path segment';
  return undefined;
}

/**
 * The bucket and object key of a path-style S3 request target (`/bucket/key…?query`), decoded, with the
 * prefix/start-after/marker query values that address keys too. Undefined parts are absent.
 */
export function addressedKeys(rawUrl: string): { bucket?: string; keys: string[]; malformed?: boolean } {
  const q = rawUrl.indexOf('?');
  const rawPath = q === -1 ? rawUrl : rawUrl.slice(0, q);
  const keys: string[] = [];
  let path: string;
  try {
    path = decodeURIComponent(rawPath);
  } catch {
    return { keys, malformed: true };
  }
  const rest = path.replace(/^\//, '');
  const slash = rest.indexOf('/');
  const bucket = slash === -1 ? rest : rest.slice(0, slash);
  if (slash !== -1) keys.push(rest.slice(slash + 1));
  if (q !== -1) {
    for (const [name, value] of new URLSearchParams(rawUrl.slice(q + 1))) {
      if (name === 'prefix' || name === 'start-after' || name === 'marker') keys.push(value);
    }
  }
  return { ...(bucket ? { bucket } : {}), keys };
}
