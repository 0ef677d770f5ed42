import { spawn } from 'node:child_process';
import { PhotoEnhanceError, throwIfAborted } from '@photoenhance/contracts';

export interface RunResult {
  stdout: Buffer;
  stderr: string;
}

export interface RunOptions {
  signal?: AbortSignal | undefined;
  /** stdout beyond this is an error (a probe of a hostile file must not fill memory). */
  maxStdoutBytes?: number;
  stdin?: Buffer;
}

/** The last lines of ffmpeg's stderr: enough to say why, never the whole log. */
export function stderrTail(stderr: string, lines = 6): string {
  return stderr.trim().split('\n').slice(-lines).join('\n');
}

/**
 * Runs ffmpeg/ffprobe to the end and collects its output. A non-zero exit is an Error carrying the
 * stderr tail (callers turn it into the right PhotoEnhanceError); an abort kills the process.
 */
export function runTool(binary: string, args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  throwIfAborted(options.signal);
  const max = options.maxStdoutBytes ?? 256 * 1024 * 1024;
  return new Promise((resolve, reject) => {
    const child = spawn(binary, args, { stdio: [options.stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'] });
    const { stdout: out, stderr: err } = child;
    if (!out || !err) throw new Error('spawn gave no output pipes');
    const chunks: Buffer[] = [];
    let size = 0;
    let stderr = '';
    let failed: Error | undefined;
    const onAbort = () => {
      failed = new PhotoEnhanceError('CANCELLED', 'The operation was cancelled');
      child.kill('SIGKILL');
    };
    options.signal?.addEventListener('abort', onAbort, { once: true });
    out.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > max) {
        failed ??= new Error(`${binary} wrote more than ${max} bytes`);
        child.kill('SIGKILL');
        return;
      }
      chunks.push(chunk);
    });
    err.setEncoding('utf8');
    err.on('data', (text: string) => {
      // Keep the tail only: a long decode logs per frame.
      stderr = (stderr + text).slice(-16_384);
    });
    if (options.stdin && child.stdin) child.stdin.end(options.stdin);
    child.on('error', (err) => {
      failed ??= err;
    });
    child.on('close', (code, signal) => {
      options.signal?.removeEventListener('abort', onAbort);
      if (failed) return reject(failed);
      if (code !== 0) {
        const err = new Error(`${binary} exited with ${code ?? signal}: ${stderrTail(stderr)}`) as Error & {
          stderr: string;
        };
        err.stderr = stderr;
        return reject(err);
      }
      resolve({ stdout: Buffer.concat(chunks), stderr });
    });
  });
}
