import { type EnhanceAccepted, taskUrls } from '@photoenhance/contracts';
import type { ApiConfig } from '../../config.ts';
import { presentAccepted } from '../../http/present.ts';

/** Where a video task is read: its status (frames), download and events (the task routes). */
export function videoUrls(base: string | undefined, taskId: string) {
  const root = (base ?? '').replace(/\/+$/, '');
  return {
    status: `${root}/api/v1/videos/${taskId}`,
    download: taskUrls(base, taskId).download,
    events: `${root}/api/v1/tasks/${taskId}/events`,
  };
}

/** The video limits checked on every clip before it is queued (multipart and direct upload alike). */
export function videoLimits(config: ApiConfig) {
  return {
    maxSeconds: config.VIDEO_MAX_SECONDS,
    maxFrames: config.VIDEO_MAX_FRAMES,
    maxInputPixels: config.VIDEO_MAX_INPUT_PIXELS,
    maxOutputPixels: config.MAX_OUTPUT_PIXELS,
  };
}

/** The 202 body of a queued video (POST /api/v1/videos and its direct-upload start). */
export function acceptedVideo(base: string | undefined, taskId: string, createdAt: string, frames: number) {
  const urls = videoUrls(base, taskId);
  const body: EnhanceAccepted = {
    ...presentAccepted(taskId, createdAt, base),
    status_url: urls.status,
    download_url: urls.download,
    message: `Video queued (${frames} frames); poll status_url or follow the task's events`,
  };
  return body;
}
