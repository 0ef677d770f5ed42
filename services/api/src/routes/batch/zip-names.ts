import { safeName } from '@photoenhance/core';

/** The manifest's name inside every batch archive; results never take it. */
export const MANIFEST_NAME = 'manifest.json';

function splitExt(name: string): [string, string] {
  const dot = name.lastIndexOf('.');
  return dot > 0 ? [name.slice(0, dot), name.slice(dot)] : [name, ''];
}

/**
 * Unique archive names, in order: the first "a.png" stays, later ones become "a-2.png", "a-3.png"…
 * Compared case-insensitively, because the archive is unpacked on case-insensitive file systems too.
 * Every name goes through safeName first: a record's file name never becomes a path ("../x", "/etc/x") in
 * the archive, whoever wrote the record.
 */
export function uniqueNames(names: readonly string[]): string[] {
  const taken = new Set<string>([MANIFEST_NAME]);
  return names.map((raw) => {
    const name = safeName(raw, 'result');
    let candidate = name;
    if (taken.has(candidate.toLowerCase())) {
      const [stem, ext] = splitExt(name);
      for (let n = 2; taken.has(candidate.toLowerCase()); n++) candidate = `${stem}-${n}${ext}`;
    }
    taken.add(candidate.toLowerCase());
    return candidate;
  });
}
