import { createWriteStream } from 'node:fs';
import { type Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { PhotoEnhanceError } from '@photoenhance/contracts';

/**
 * Streams an uploaded video part to a scratch file, counting bytes (FILE_TOO_LARGE past the limit): ffprobe
 * needs a seekable file (an MP4's index may sit at its end), and the part is never held in memory.
 */
export async function receiveVideoFile(stream: Readable, path: string, maxBytes: number): Promise<number> {
  let bytes = 0;
  const counter = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      bytes += chunk.length;
      if (bytes > maxBytes) {
        done(
          new PhotoEnhanceError('FILE_TOO_LARGE', `The video exceeds ${maxBytes} bytes (VIDEO_MAX_UPLOAD_BYTES)`, {
            details: { maxBytes },
          }),
        );
        return;
      }
      done(null, chunk);
    },
  });
  try {
    await pipeline(stream, counter, createWriteStream(path));
  } catch (err) {
    // The parser waits for each part to be read to its end: drain what is left of a refused one.
    stream.resume();
    throw err;
  }
  if (bytes === 0) throw new PhotoEnhanceError('EMPTY_FILE', 'The uploaded video is empty');
  return bytes;
}
