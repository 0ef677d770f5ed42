import { apiFetch, apiJson, getApiKey, type ModelRow, type ServiceInfo, setApiKey } from './api.ts';
import { errorWords } from './messages.ts';
import { Photo } from './photo.ts';
import { bindSettings } from './settings.ts';
import { isVideoFile, VideoItem } from './video.ts';

const $ = <T extends Element>(selector: string): T => {
  const el = document.querySelector<T>(selector);
  if (!el) throw new Error(`page has no ${selector}`);
  return el;
};

const settings = bindSettings($<HTMLFormElement>('#settings'));
const list = $<HTMLUListElement>('#photos');
const summary = $<HTMLParagraphElement>('#summary');
const downloadAll = $<HTMLButtonElement>('#download-all');
const clearDone = $<HTMLButtonElement>('#clear-done');
const picker = $<HTMLInputElement>('#files');
const drop = $<HTMLElement>('#drop');
const keyDialog = $<HTMLDialogElement>('#key-dialog');
const keyForm = $<HTMLFormElement>('#key-form');
const keyInput = $<HTMLInputElement>('#api-key');
const keyButton = $<HTMLButtonElement>('#key-button');

const photos: Photo[] = [];
const videos: VideoItem[] = [];
let limits: ServiceInfo['limits'] | undefined;

/**
 * Uploads go one after another, each queued the moment its bytes are in: the first photo's result comes as
 * early as possible (the seed's stream order), while workers take the queued ones side by side.
 */
let uploads: Promise<void> = Promise.resolve();
function enqueue(photo: Photo): void {
  uploads = uploads.then(() => photo.upload());
}

function refresh(): void {
  const items = [...photos, ...videos];
  const done = items.filter((p) => p.phase === 'completed').length;
  const failed = items.filter((p) => p.phase === 'failed').length;
  const running = items.filter((p) => !p.finished).length;
  summary.textContent =
    items.length === 0
      ? 'No photos yet.'
      : `${done} of ${items.length} done${failed ? `, ${failed} failed` : ''}${running ? `, ${running} in progress` : ''}.`;
  downloadAll.disabled = !photos.some((p) => p.phase === 'completed');
  clearDone.disabled = !items.some((p) => p.finished);
}

function addFiles(files: Iterable<File>): void {
  for (const file of files) {
    if (isVideoFile(file)) {
      // A video is its own task kind (POST /api/v1/videos): frames, a player and a download on its card.
      const video = new VideoItem(file, settings.get, refresh);
      videos.push(video);
      list.append(video.card);
      uploads = uploads.then(() => video.upload());
      continue;
    }
    const photo: Photo = new Photo(file, settings.get, {
      changed: refresh,
      needsKey: askForKey,
      limits: () => limits,
    });
    photo.retry = () => {
      photo.reset();
      enqueue(photo);
    };
    photos.push(photo);
    list.append(photo.card);
    enqueue(photo);
  }
  refresh();
}

function askForKey(): void {
  if (!keyDialog.open) {
    keyInput.value = getApiKey();
    keyDialog.showModal();
  }
}

keyButton.addEventListener('click', askForKey);
keyForm.addEventListener('submit', (e) => {
  const submitter = (e as SubmitEvent).submitter as HTMLButtonElement | null;
  if (submitter?.value === 'cancel') return;
  setApiKey(keyInput.value.trim());
  for (const photo of photos) if (photo.needsKey) photo.retry();
  void loadModels();
});

picker.addEventListener('change', () => {
  if (picker.files) addFiles(picker.files);
  picker.value = '';
});
for (const type of ['dragenter', 'dragover']) {
  drop.addEventListener(type, (e) => {
    e.preventDefault();
    drop.classList.add('over');
  });
}
for (const type of ['dragleave', 'drop']) drop.addEventListener(type, () => drop.classList.remove('over'));
drop.addEventListener('drop', (e) => {
  e.preventDefault();
  if (e.dataTransfer?.files.length) addFiles(e.dataTransfer.files);
});
// Dropping next to the zone must not navigate away from the page.
window.addEventListener('dragover', (e) => e.preventDefault());
window.addEventListener('drop', (e) => e.preventDefault());
document.addEventListener('paste', (e) => {
  const files = [...(e.clipboardData?.files ?? [])];
  if (files.length) addFiles(files);
});

clearDone.addEventListener('click', () => {
  for (const photo of photos.filter((p) => p.finished)) {
    photo.dispose();
    photos.splice(photos.indexOf(photo), 1);
  }
  for (const video of videos.filter((v) => v.finished)) {
    video.dispose();
    videos.splice(videos.indexOf(video), 1);
  }
  refresh();
});

/** The finished results as one ZIP: the tasks are grouped into a batch, whose ZIP the API streams. */
downloadAll.addEventListener('click', async () => {
  const ids = photos.filter((p) => p.phase === 'completed' && p.taskId).map((p) => p.taskId as string);
  if (ids.length === 0) return;
  downloadAll.disabled = true;
  try {
    const batch = await apiJson<{ download_url: string }>('/api/v1/batches', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ task_ids: ids }),
    });
    const blob = await (await apiFetch(`${batch.download_url}?partial=true`)).blob();
    const url = URL.createObjectURL(blob);
    const a = document.createElement('a');
    a.href = url;
    a.download = 'photoenhance-results.zip';
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 60_000);
  } catch (err) {
    summary.textContent = `Download all failed: ${errorWords(err)}`;
  } finally {
    downloadAll.disabled = false;
  }
});

async function loadModels(): Promise<void> {
  try {
    const body = await apiJson<{ models: ModelRow[] }>('/api/v1/models');
    settings.setModels(body.models);
  } catch {
    // No key yet, or an older API: the face model list stays hidden and the service default applies.
  }
}

async function loadLimits(): Promise<void> {
  try {
    limits = (await apiJson<ServiceInfo>('/')).limits;
  } catch {
    limits = undefined;
  }
}

refresh();
void loadLimits();
void loadModels();
