import { INPUT_MIME_TYPES } from '@photoenhance/contracts/formats';
import type { TaskStatus } from '@photoenhance/contracts/task-states';
import { ApiError, apiFetch, authHeaders, type ServiceInfo, send, type TaskView } from './api.ts';
import { compareView } from './compare.ts';
import { uploadDirect } from './direct-upload.ts';
import { h } from './dom.ts';
import { errorWords, formatBytes, formatSeconds, formatTime, stageWords } from './messages.ts';
import { enhanceFields, type Settings } from './settings.ts';
import { watchTask } from './watch.ts';

/** Files above this go through the presigned direct upload (PUT straight to storage). */
export const DIRECT_UPLOAD_OVER = 4 * 1024 * 1024;

/** Types the direct-upload route accepts (it signs one); anything else is sent through the API, which sniffs it. */
const DIRECT_TYPES: ReadonlySet<string> = new Set(INPUT_MIME_TYPES);

/** Before the task exists the photo waits or uploads; after, its phase is the task's status. */
export type Phase = 'waiting' | 'uploading' | TaskStatus;

export interface PhotoHooks {
  /** Called on every phase change (the page's summary and "download all" follow it). */
  changed(): void;
  /** A 401: the page asks for a key, then calls retry() on every photo that needs one. */
  needsKey(photo: Photo): void;
  limits(): ServiceInfo['limits'] | undefined;
}

let counter = 0;

/** One picked photo: its card, its upload and its task, from the first byte to the result. */
export class Photo {
  readonly id = `photo-${++counter}`;
  phase: Phase = 'waiting';
  taskId: string | undefined;
  needsKey = false;
  readonly card: HTMLLIElement;
  private readonly status: HTMLParagraphElement;
  private readonly bar: HTMLProgressElement;
  private readonly actions: HTMLDivElement;
  private readonly result: HTMLDivElement;
  private readonly previewUrl: string | null;
  private abort = new AbortController();
  private resultUrl: string | undefined;
  private resultName = '';
  private startedAt = 0;

  readonly file: File;
  private readonly settings: () => Settings;
  private readonly hooks: PhotoHooks;

  constructor(file: File, settings: () => Settings, hooks: PhotoHooks) {
    this.file = file;
    this.settings = settings;
    this.hooks = hooks;
    const heic = /hei[cf]$/i.test(file.type) || /\.hei[cf]$/i.test(file.name);
    this.previewUrl = heic ? null : URL.createObjectURL(file);
    const thumb = this.previewUrl
      ? h('img', { src: this.previewUrl, alt: '', loading: 'lazy' })
      : h('span', { class: 'placeholder' }, heic ? 'HEIC' : 'No preview');
    if (thumb instanceof HTMLImageElement) {
      thumb.addEventListener('error', () => thumb.replaceWith(h('span', { class: 'placeholder' }, 'No preview')), {
        once: true,
      });
    }
    this.status = h('p', { class: 'status', id: `${this.id}-status` }, 'Waiting to upload');
    this.bar = h('progress', { max: '100', value: '0', 'aria-label': `Progress of ${file.name}` });
    this.actions = h('div', { class: 'actions' });
    this.result = h('div', { class: 'result' });
    this.card = h(
      'li',
      { class: 'card', 'data-phase': 'waiting', 'aria-labelledby': `${this.id}-name` },
      h(
        'div',
        { class: 'card-head' },
        h('div', { class: 'thumb' }, thumb),
        h(
          'div',
          { class: 'card-info' },
          h('h3', { id: `${this.id}-name`, class: 'name', title: file.name }, file.name),
          h(
            'p',
            { class: 'meta' },
            `${formatBytes(file.size)}${file.type ? ` · ${file.type.replace('image/', '')}` : ''}`,
          ),
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

  /** Uploads, then follows the task; resolves once the upload is over (the task keeps running). */
  async upload(): Promise<void> {
    if (this.phase !== 'waiting') return;
    this.startedAt = performance.now();
    this.set('uploading', `Uploading 0 of ${formatBytes(this.file.size)}`, 0);
    const signal = this.abort.signal;
    try {
      const taskId =
        this.file.size > DIRECT_UPLOAD_OVER && DIRECT_TYPES.has(this.file.type) && this.directAllowed()
          ? await this.uploadDirect(signal)
          : await this.uploadForm(signal);
      this.taskId = taskId;
      this.card.dataset.taskId = taskId;
      this.set('queued', stageWords('queued'), 0);
      this.follow(taskId);
    } catch (err) {
      if (signal.aborted) return;
      if (err instanceof ApiError && err.status === 401) {
        this.needsKey = true;
        this.phase = 'waiting';
        this.card.dataset.phase = 'failed';
        this.status.textContent = errorWords(err);
        this.renderActions();
        this.hooks.needsKey(this);
        return;
      }
      this.fail(errorWords(err));
    }
  }

  private directAllowed(): boolean {
    const max = this.hooks.limits()?.direct_upload_max_bytes;
    return max === undefined || this.file.size <= max;
  }

  private progressText(sent: number, total: number): void {
    const percent = total > 0 ? (sent / total) * 100 : 0;
    this.bar.value = percent;
    this.status.textContent = `Uploading ${formatBytes(sent)} of ${formatBytes(total)}`;
  }

  private async uploadForm(signal: AbortSignal): Promise<string> {
    const form = new FormData();
    form.append('file', this.file, this.file.name);
    for (const [name, value] of Object.entries(enhanceFields(this.settings()))) form.append(name, value);
    const text = await send({
      method: 'POST',
      url: '/api/v1/enhance',
      body: form,
      headers: { ...authHeaders(), Accept: 'application/json' },
      onProgress: (sent, total) => this.progressText(sent, total),
      signal,
    });
    return (JSON.parse(text) as { task_id: string }).task_id;
  }

  /** POST /api/v1/uploads → PUT to storage (signed type and size) → POST start with the options. */
  private uploadDirect(signal: AbortSignal): Promise<string> {
    return uploadDirect({
      file: this.file,
      createUrl: '/api/v1/uploads',
      fields: enhanceFields(this.settings()),
      onProgress: (sent, total) => this.progressText(sent, total),
      signal,
    });
  }

  private follow(taskId: string): void {
    watchTask(
      taskId,
      {
        progress: (view) => {
          if (this.finished) return;
          const phase = view.status === 'processing' ? 'processing' : 'queued';
          const words = view.status === 'processing' ? stageWords(view.stage) : stageWords('queued');
          this.set(phase, `${words} · ${Math.round(view.percent)} %`, view.percent);
        },
        done: (view) => void this.finish(view),
        error: (err) => this.fail(errorWords(err)),
      },
      this.abort.signal,
    );
  }

  private async finish(view: TaskView): Promise<void> {
    if (view.status === 'cancelled') return this.set('cancelled', 'Cancelled', 0);
    if (view.status === 'failed' || !view.result) {
      return this.fail(errorWords(new ApiError(0, view.error_code ?? 'INTERNAL', view.error ?? 'The task failed')));
    }
    this.set('processing', 'Fetching the result', 100);
    try {
      const res = await apiFetch(`/api/v1/download/${view.task_id}`, { signal: this.abort.signal });
      const blob = await res.blob();
      this.resultUrl = URL.createObjectURL(blob);
      this.resultName = view.result.filename;
    } catch (err) {
      if (!this.abort.signal.aborted) this.fail(errorWords(err));
      return;
    }
    this.showResult(view);
    const seconds = (performance.now() - this.startedAt) / 1000;
    this.set('completed', `Done in ${formatSeconds(seconds)}`, 100);
    if (view.expires_at) this.expireAt(view.expires_at);
  }

  /**
   * The service deletes the photo and its result RETENTION_HOURS after it finished: from then on the card says so
   * in plain words (the copy already on the page stays; the server's links no longer work).
   */
  private expireAt(expiresAt: string): void {
    const signal = this.abort.signal;
    const timer = setTimeout(
      () => {
        if (signal.aborted || this.phase !== 'completed') return;
        this.card.dataset.expired = 'true';
        this.status.textContent = `Expired at ${formatTime(expiresAt)}: the service has deleted this photo and its result. The copy shown here stays until you close the page.`;
      },
      Math.max(0, Date.parse(expiresAt) - Date.now()),
    );
    signal.addEventListener('abort', () => clearTimeout(timer), { once: true });
  }

  private showResult(view: TaskView): void {
    const r = view.result;
    if (!r || !this.resultUrl) return;
    const input = view.input;
    const faces = r.faces;
    const engine = r.timings.total ?? Object.values(r.timings).reduce((a, b) => a + b, 0);
    const facts = h(
      'dl',
      { class: 'facts' },
      h('dt', {}, 'Size'),
      h(
        'dd',
        {},
        input
          ? `${input.width}×${input.height} → ${r.width}×${r.height} (${formatBytes(r.bytes)}, ${r.format})`
          : `${r.width}×${r.height}`,
      ),
      h('dt', {}, 'Faces'),
      h('dd', {}, `${faces.detected} detected, ${faces.restored} restored`),
      h('dt', {}, 'Time'),
      h('dd', {}, `${formatSeconds(engine)} of processing`),
      ...(view.expires_at
        ? [h('dt', {}, 'Kept until'), h('dd', {}, `${formatTime(view.expires_at)}, then deleted from the service`)]
        : []),
    );
    // The worker's notice says how to install a restorer; the headline says what happened, in plain words.
    const notice =
      faces.notice && faces.restored === 0
        ? h(
            'div',
            { class: 'notice', role: 'note' },
            h('p', {}, 'Faces were not restored: no face restoration model is installed on the worker.'),
            h('details', {}, h('summary', {}, 'How to install one'), h('p', {}, faces.notice)),
          )
        : null;
    const warnings = r.warnings
      .filter((w) => w !== faces.notice)
      .map((w) => h('p', { class: 'notice', role: 'note' }, w));
    this.result.replaceChildren(
      compareView({
        name: this.file.name,
        beforeUrl: this.previewUrl,
        afterUrl: this.resultUrl,
        width: r.width,
        height: r.height,
      }),
      facts,
      ...(notice ? [notice] : []),
      ...warnings,
    );
  }

  /** Stops the upload or cancels the task (DELETE); the card stays, with Retry. */
  async cancel(): Promise<void> {
    const taskId = this.taskId;
    this.abort.abort();
    this.set('cancelled', 'Cancelled', 0);
    if (!taskId) return;
    try {
      await apiFetch(`/api/v1/tasks/${taskId}`, { method: 'DELETE' });
    } catch (err) {
      // Already finished or gone: the card says cancelled either way; a real failure is shown.
      if (!(err instanceof ApiError && (err.status === 404 || err.status === 409))) this.fail(errorWords(err));
    }
  }

  /** Back to the start: the page uploads it again with the current settings. */
  reset(): void {
    this.abort.abort();
    this.abort = new AbortController();
    this.taskId = undefined;
    delete this.card.dataset.taskId;
    this.needsKey = false;
    if (this.resultUrl) URL.revokeObjectURL(this.resultUrl);
    this.resultUrl = undefined;
    this.result.replaceChildren();
    this.set('waiting', 'Waiting to upload', 0);
  }

  dispose(): void {
    this.abort.abort();
    if (this.previewUrl) URL.revokeObjectURL(this.previewUrl);
    if (this.resultUrl) URL.revokeObjectURL(this.resultUrl);
    this.card.remove();
  }

  retry: () => void = () => undefined;

  private fail(words: string): void {
    this.set('failed', words, 0);
  }

  private set(phase: Phase, text: string, progress: number): void {
    const changed = phase !== this.phase;
    this.phase = phase;
    this.card.dataset.phase = phase;
    this.status.textContent = text;
    this.bar.value = progress;
    if (changed) {
      this.renderActions();
      this.hooks.changed();
    }
  }

  private renderActions(): void {
    const buttons: HTMLElement[] = [];
    const label = this.file.name;
    if (!this.finished && !this.needsKey) {
      buttons.push(
        h(
          'button',
          { type: 'button', class: 'secondary', 'aria-label': `Cancel ${label}`, onclick: () => this.cancel() },
          'Cancel',
        ),
      );
    }
    if (this.phase === 'failed' || this.phase === 'cancelled' || this.needsKey) {
      buttons.push(
        h('button', { type: 'button', 'aria-label': `Retry ${label}`, onclick: () => this.retry() }, 'Retry'),
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
