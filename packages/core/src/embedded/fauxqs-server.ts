import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { buildApp } from 'fauxqs';

/** Finds a file of the installed fauxqs package (its exports map hides everything but the entry point). */
export function fauxqsFile(relative: string): string {
  let dir = import.meta.dirname;
  for (;;) {
    const candidate = join(dir, 'node_modules', 'fauxqs', relative);
    if (existsSync(candidate)) return candidate;
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`fauxqs file ${relative} not found (is fauxqs 2.4.1 installed?)`);
    dir = parent;
  }
}

async function fauxqsModule<T>(relative: string): Promise<T> {
  return (await import(pathToFileURL(fauxqsFile(relative)).href)) as T;
}

type Ctor<T = object> = new (...args: never[]) => T;
interface Persistence {
  close(): void;
}
interface SqsPersistence extends Persistence {
  loadSqsAndSns(sqs: object, sns: object): void;
}
interface S3Persistence extends Persistence {
  loadS3(s3: object): void;
}
interface SqsStoreLike {
  persistence?: unknown;
  allQueues(): Iterable<{ persistence?: unknown }>;
}

export interface FauxqsServer {
  stop(): Promise<void>;
}

/**
 * fauxqs's `startFauxqs` as of 2.4.1, with one change: it listens on a Unix socket in a private (0700)
 * directory instead of every interface (startFauxqs hard-codes host 0.0.0.0). The only way in is then the
 * front (front.ts), which checks signatures; nothing on the network, and no other local user, reaches fauxqs
 * itself. Same stores, same persistence wiring, in the same order as upstream.
 */
export async function startFauxqsOnSocket(options: {
  socketPath: string;
  region: string;
  sqsDir: string;
  s3Dir: string;
}): Promise<FauxqsServer> {
  const { SqsStore } = await fauxqsModule<{ SqsStore: Ctor<SqsStoreLike> }>('dist/sqs/sqsStore.js');
  const { SnsStore } = await fauxqsModule<{ SnsStore: Ctor<{ persistence?: unknown }> }>('dist/sns/snsStore.js');
  const { S3Store } = await fauxqsModule<{ S3Store: Ctor<{ persistence?: unknown }> }>('dist/s3/s3Store.js');
  const { PersistenceManager } = await fauxqsModule<{
    PersistenceManager: new (dir: string) => SqsPersistence;
  }>('dist/persistence.js');
  const { FileS3Persistence } = await fauxqsModule<{
    FileS3Persistence: new (dir: string) => S3Persistence;
  }>('dist/s3/fileS3Persistence.js');

  const sqsStore = new SqsStore();
  const snsStore = new SnsStore();
  const s3Store = new S3Store();
  const sqsPersistence = new PersistenceManager(options.sqsDir);
  const s3Persistence = new FileS3Persistence(options.s3Dir);
  // Load before wiring persistence into the stores, as upstream does (a load must not write back).
  sqsPersistence.loadSqsAndSns(sqsStore, snsStore);
  s3Persistence.loadS3(s3Store);
  sqsStore.persistence = sqsPersistence;
  snsStore.persistence = sqsPersistence;
  for (const queue of sqsStore.allQueues()) queue.persistence = sqsPersistence;
  s3Store.persistence = s3Persistence;

  const app = buildApp({
    logger: false,
    defaultRegion: options.region,
    stores: { sqsStore, snsStore, s3Store } as unknown as NonNullable<Parameters<typeof buildApp>[0]>['stores'],
  });
  app.addHook('preClose', () => {
    sqsPersistence.close();
    s3Persistence.close();
  });
  await app.listen({ path: options.socketPath });
  return {
    async stop() {
      await app.close();
    },
  };
}
