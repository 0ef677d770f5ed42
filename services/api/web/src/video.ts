import { VIDEO_UPLOAD_CONTENT_TYPES } from '@photoenhance/contracts/formats';
import type { TaskStatus } from '@photoenhance/contracts/task-states';
import type { VideoStatusResponse } from '@photoenhance/contracts/video';
import { ApiError, apiFetch, apiJson, authHeaders, send } from './api.ts';
import { uploadDirect } from './direct-upload.ts';
import { h } from './dom.ts';
import { errorWords, formatBytes, formatSeconds } from './messages.ts';
import { DIRECT_UPLOAD_OVER } from './photo.ts';
import { enhanceFields, type Settings } from './settings.ts';
import { watchTask } from './watch.ts';

/** File types the page sends to POST /api/v1/videos (by type, or by extension when the browser gives none). */
export function isVideoFile(file: File): boolean {
  return file.type.startsWith('video/') || /\.(mp4|m4v|mov|mkv|webm)$/i.test(file.name);
}

/** GET /api/v1/videos/{id}: the contract's shape (the card uses part of it). */
type VideoView = VideoStatusResponse;

let counter = 0;
/** Types the video direct-upload route signs; other files go through POST /api/v1/videos, which probes them. */
const DIRECT_TYPES: ReadonlySet<string> = new Set(VIDEO_UPLOAD_CONTENT_TYPES);

/**
 * One picked video: its card (upload in bytes, then frames done / total and the ETA), then the result in a
 * player beside the original and a download. Follows the task's event stream (frames are in its progress
 * events), as the photo cards do; watchTask polls GET /api/v1/videos/{id} only when no stream can be had.
 */
export class VideoItem {
  readonly id = `video-${++counter}`;
  phase: 'uploading' | TaskStatus = 'uploading';
  taskId: string | undefined;
  readonly card: HTMLLIElement;
  private readonly status: HTMLParagraphElement;
  private readonly bar: HTMLProgressElement;
  private readonly actions: HTMLDivElement;
  private readonly result: HTMLDivElement;
  private readonly originalUrl: string;
  private resultUrl: string | undefined;
  private resultName = '';
  private readonly abort = new AbortController();
  private readonly startedAt = performance.now();

  readonly file: File;
  private readonly settings: () => Settings;
  private readonly changed: () => void;

  constructor(file: File, settings: () => Settings, changed: () => void) {
    this.file = file;
    this.settings = settings;
    this.changed = changed;
    this.originalUrl = URL.createObjectURL(file);
    this.status = h('p', { class: 'status', id: `${this.id}-status` }, 'Waiting to upload');
    this.bar = h('progress', { max: '100', value: '0', 'aria-label': `Progress of ${file.name}` });
    this.actions = h('div', { class: 'actions' });
    this.result = h('div', { class: 'result' });
    this.card = h(
      'li',
      { class: 'card video-card', 'data-phase': 'uploading', 'aria-labelledby': `${this.id}-name` },
      h(
        'div',
        { class: 'card-head' },
        h('div', { class: 'thumb' }, h('span', { class: 'placeholder' }, 'Video')),
        h(
          'div',
          { class: 'card-info' },
          h('h3', { id: `${this.id}-name`, class: 'name', title: file.name }, file.name),
          h('p', { class: 'meta' }, `${formatBytes(file.size)} · video`),
          this.bar,
          h('div', { 'aria-live': 'polite', 'aria-atomic': 'true' }, this.status),
          this.actions,
        ),
      ),
      this.result,
    );
    this.renderActions();
  }

  get finished(): boolean {
    return this.phase === 'completed' || this.phase === 'failed' || this.phase === 'cancelled';
  }

  async upload(): Promise<void> {
    // Photo output formats do not apply to a video; the rest of the settings do.
    const { output_format: _format, ...fields } = enhanceFields(this.settings());
    try {
      // Big files as the photo cards send them: straight to storage (presigned PUT), then start.
      this.taskId =
        this.file.size > DIRECT_UPLOAD_OVER && DIRECT_TYPES.has(this.file.type)
          ? await this.uploadDirect(fields)
          : await this.uploadForm(fields);
      this.card.dataset.taskId = this.taskId;
      this.set('queued', 'Waiting for a worker', 0);
    } catch (err) {
      if (!this.abort.signal.aborted) this.set('failed', videoErrorWords(err), 0);
      return;
    }
    // The upload queue moves on; the task is followed in the background.
    void this.follow(this.taskId).catch((err: unknown) => {
      if (!this.abort.signal.aborted) this.set('failed', videoErrorWords(err), 0);
    });
  }

  private progressText(sent: number, total: number): void {
    this.bar.value = total > 0 ? (sent / total) * 100 : 0;
    this.status.textContent = `Uploading ${formatBytes(sent)} of ${formatBytes(total)}`;
  }

  private async uploadForm(fields: Record<string, string>): Promise<string> {
    const form = new FormData();
    form.append('file', this.file, this.file.name);
    for (const [name, value] of Object.entries(fields)) form.append(name, value);
    const text = await send({
      method: 'POST',
      url: '/api/v1/videos',
      body: form,
      headers: { ...authHeaders(), Accept: 'application/json' },
      onProgress: (sent, total) => this.progressText(sent, total),
      signal: this.abort.signal,
    });
    return (JSON.parse(text) as { task_id: string }).task_id;
  }

  /** POST /api/v1/videos/uploads → PUT to storage (signed type and size) → POST start with the options. */
  private uploadDirect(fields: Record<string, string>): Promise<string> {
    return uploadDirect({
      file: this.file,
      createUrl: '/api/v1/videos/uploads',
      fields,
      onProgress: (sent, total) => this.progressText(sent, total),
      onStarting: () => {
        this.status.textContent = 'Checking the video';
      },
      signal: this.abort.signal,
    });
  }

  private follow(taskId: string): Promise<void> {
    return new Promise((resolve, reject) => {
      const path = `/api/v1/videos/${taskId}`;
      watchTask(
        taskId,
        {
          progress: (view) => {
            if (this.finished || view.status !== 'processing') return;
            const { frames_done: done, frames_total: total, eta_seconds: eta } = view;
            if (done === undefined || !total) return;
            const left = eta !== undefined ? ` · about ${formatSeconds(eta)} left` : '';
            this.set('processing', `Enhancing frame ${done} of ${total}${left}`, (done / total) * 100);
          },
          // The terminal event says how it ended; the card then reads the video's own view (sizes, result) once.
          done: () => {
            apiJson<VideoView>(path, { signal: this.abort.signal })
              .then((view) => this.settle(view))
              .then(resolve, reject);
          },
          error: reject,
        },
        this.abort.signal,
        path,
      );
    });
  }

  private async settle(view: VideoView): Promise<void> {
    if (view.status === 'completed') return this.finish(view);
    const error = view.error ?? { code: 'INTERNAL', message: `The video was ${view.status}` };
    this.set(view.status, videoErrorWords(new ApiError(0, error.code, error.message)), 0);
  }

  private async finish(view: VideoView): Promise<void> {
    this.set('processing', 'Fetching the result', 100);
    const blob = await (await apiFetch(`/api/v1/download/${view.task_id}`, { signal: this.abort.signal })).blob();
    this.resultUrl = URL.createObjectURL(blob);
    const r = view.result;
    this.resultName = r?.filename ?? `${this.file.name}_enhanced.mp4`;
    const player = (label: string, src: string) =>
      h(
        'figure',
        {},
        h('video', {
          src,
          controls: true,
          muted: true,
          loop: true,
          playsinline: true,
          preload: 'auto',
          'aria-label': label,
        }),
        h('figcaption', {}, label),
      );
    this.result.replaceChildren(
      h(
        'div',
        { class: 'video-compare' },
        player(`Original ${view.input.width}×${view.input.height}`, this.originalUrl),
        player(`Enhanced ${r?.width ?? ''}×${r?.height ?? ''}`, this.resultUrl),
      ),
      h(
        'dl',
        { class: 'facts' },
        h('dt', {}, 'Frames'),
        h('dd', {}, `${view.input.frames} (${formatSeconds(view.input.duration_seconds)})`),
        h('dt', {}, 'Size'),
        h(
          'dd',
          {},
          r
            ? `${view.input.width}×${view.input.height} → ${r.width}×${r.height} (${formatBytes(r.bytes)}, ${r.format})`
            : '',
        ),
      ),
    );
    this.set('completed', `Done in ${formatSeconds((performance.now() - this.startedAt) / 1000)}`, 100);
  }

  private async cancel(): Promise<void> {
    this.abort.abort();
    this.set('cancelled', 'Cancelled', 0);
    if (this.taskId) await apiFetch(`/api/v1/videos/${this.taskId}`, { method: 'DELETE' }).catch(() => undefined);
  }

  dispose(): void {
    this.abort.abort();
    URL.revokeObjectURL(this.originalUrl);
    if (this.resultUrl) URL.revokeObjectURL(this.resultUrl);
    this.card.remove();
  }

  private set(phase: VideoItem['phase'], text: string, progress: number): void {
    const changed = phase !== this.phase;
    this.phase = phase;
    this.card.dataset.phase = phase;
    this.status.textContent = text;
    this.bar.value = progress;
    if (changed) {
      this.renderActions();
      this.changed();
    }
  }

  private renderActions(): void {
    const label = this.file.name;
    const buttons: HTMLElement[] = [];
    if (!this.finished) {
      buttons.push(
        h(
          'button',
          { type: 'button', class: 'secondary', 'aria-label': `Cancel ${label}`, onclick: () => this.cancel() },
          'Cancel',
        ),
      );
    }
    if (this.phase === 'completed' && this.resultUrl) {
      buttons.push(
        h(
          'a',
          { class: 'button', href: this.resultUrl, download: this.resultName, 'aria-label': `Download ${label}` },
          'Download',
        ),
      );
    }
    this.actions.replaceChildren(...buttons);
  }
}

function videoErrorWords(err: unknown): string {
  if (err instanceof ApiError) {
    switch (err.code) {
      case 'UNSUPPORTED_FORMAT':
        return `Not a video this service can read. ${err.message}`;
      case 'CORRUPT_VIDEO':
        return `The video is damaged or cut short. ${err.message}`;
      case 'VIDEO_TOO_LONG':
        return `Too long. ${err.message}`;
    }
  }
  return errorWords(err);
}
