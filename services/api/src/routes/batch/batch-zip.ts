import type { Readable } from 'node:stream';
import type { BatchManifest } from '@photoenhance/contracts';
import type { Storage } from '@photoenhance/core';
import { ZipArchive } from 'archiver';
import type { Logger } from 'pino';
import { MANIFEST_NAME } from './zip-names.ts';

const ARCHIVE_BUFFER_BYTES = 64 * 1024;

export interface ZipItem {
  taskId: string;
  /** The uploaded file's (safe) name. */
  original: string;
  /** Unique name inside the archive (uniqueNames). */
  name: string;
  key: string;
  date?: Date | undefined;
}

export interface BatchZipInput {
  batchId: string;
  createdAt: string;
  items: readonly ZipItem[];
  /** Known before streaming starts: tasks not completed, files refused at upload. */
  failures: BatchManifest['failures'];
}

/** Resolves once archiver has written the entry (its source fully read), rejects when the archive dies. */
function appendEntry(archive: ZipArchive, body: Readable, item: ZipItem): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const cleanup = () => {
      archive.off('entry', onEntry);
      archive.off('error', onError);
      archive.off('close', onClose);
    };
    const onEntry = () => {
      cleanup();
      resolve();
    };
    const onError = (err: Error) => {
      cleanup();
      body.destroy();
      reject(err);
    };
    const onClose = () => onError(new Error('archive closed before the entry was written'));
    archive.on('entry', onEntry);
    archive.on('error', onError);
    archive.on('close', onClose);
    // Images are already compressed: store them (no CPU spent, sizes known to the client's unzip as-is).
    archive.append(body, { name: item.name, store: true, ...(item.date ? { date: item.date } : {}) });
  });
}

/**
 * A ZIP of the batch results, streamed: objects are fetched from S3 one at a time, and only when the archive
 * wants the next entry, so memory stays at a few chunks whatever the batch size and backpressure from a slow
 * client reaches S3. A result that cannot be fetched is left out and listed in manifest.json (written last,
 * so it also covers those). If the consumer goes away the archive is destroyed and fetching stops.
 */
export function createBatchZip(storage: Pick<Storage, 'getStream'>, input: BatchZipInput, logger: Logger): ZipArchive {
  // archiver buffers 1 MiB by default; 64 KiB keeps each open download small and lets backpressure bite early.
  const archive = new ZipArchive({ store: true, highWaterMark: ARCHIVE_BUFFER_BYTES });
  const files: BatchManifest['files'] = [];
  const failures = [...input.failures];

  const feed = async (): Promise<void> => {
    for (const item of input.items) {
      if (archive.destroyed) return;
      let object: Awaited<ReturnType<typeof storage.getStream>>;
      try {
        object = await storage.getStream(item.key);
      } catch (err) {
        logger.warn({ err, taskId: item.taskId }, 'batch zip: result could not be fetched');
        const code = (err as { code?: string }).code ?? 'STORAGE_ERROR';
        failures.push({
          task_id: item.taskId,
          original: item.original,
          status: 'completed',
          error: { code, message: 'The result could not be read from storage' },
        });
        continue;
      }
      await appendEntry(archive, object.body, item);
      files.push({ task_id: item.taskId, original: item.original, file: item.name, bytes: object.bytes ?? 0 });
    }
    const manifest: BatchManifest = {
      batch_id: input.batchId,
      created_at: input.createdAt,
      generated_at: new Date().toISOString(),
      files,
      failures,
    };
    // Stored too: a few KB, and readable in the raw archive (a truncated download still shows what was in it).
    archive.append(`${JSON.stringify(manifest, null, 2)}\n`, { name: MANIFEST_NAME, store: true });
    await archive.finalize();
  };

  feed().catch((err: unknown) => {
    if (archive.destroyed) return; // the client left; nothing to report
    logger.error({ err, batchId: input.batchId }, 'batch zip failed mid-stream');
    archive.destroy(err instanceof Error ? err : new Error(String(err)));
  });
  return archive;
}
