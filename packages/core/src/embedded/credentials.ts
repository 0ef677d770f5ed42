import { randomBytes } from 'node:crypto';
import { chmod, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';

/** The access key pair the embedded backend accepts signatures from. */
export interface EmbeddedCredentials {
  accessKeyId: string;
  secretAccessKey: string;
}

const CredentialsFileSchema = z.object({
  accessKeyId: z.string().regex(/^[A-Z0-9]{16,128}$/),
  secretAccessKey: z.string().min(32),
});

const FILE = 'credentials.json';

/**
 * The embedded backend's own credentials: random per data directory, made on first start and kept (mode 0600)
 * next to the data they guard, so a restart keeps accepting the URLs it signed before. A fixed, well-known pair
 * (the usual `test`/`test` of emulators) would let any local process or web page sign requests.
 */
export async function loadOrCreateEmbeddedCredentials(root: string): Promise<EmbeddedCredentials> {
  const file = join(root, FILE);
  try {
    const parsed = CredentialsFileSchema.safeParse(JSON.parse(await readFile(file, 'utf8')));
    if (parsed.success) return parsed.data;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT' && !(err instanceof SyntaxError)) throw err;
  }
  const credentials: EmbeddedCredentials = {
    accessKeyId: `PEEMBED${randomBytes(10).toString('hex').toUpperCase()}`,
    secretAccessKey: randomBytes(30).toString('base64url'),
  };
  await writeFile(file, `${JSON.stringify(credentials)}\n`, { mode: 0o600 });
  await chmod(file, 0o600);
  return credentials;
}
