import { PhotoEnhanceError, type TaskRecord, type VideoStatusResponse } from '@photoenhance/contracts';

/** Task record → GET /api/v1/videos/{id}: frames done / total, segments, ETA; the probe's frame times stay inside. */
export function presentVideo(record: TaskRecord, urls: { download: string; events: string }): VideoStatusResponse {
  const video = record.video;
  if (!video) throw new PhotoEnhanceError('NOT_FOUND', `Task ${record.taskId} is not a video`);
  const { probe } = video;
  const completed = record.status === 'completed';
  const body: VideoStatusResponse = {
    task_id: record.taskId,
    status: record.status,
    progress: completed ? 100 : Math.round(record.progress),
    stage: record.stage,
    frames_done: completed ? video.framesTotal : video.framesDone,
    frames_total: video.framesTotal,
    segments_done: completed ? video.segments.length : video.segmentsDone,
    segments_total: video.segments.length,
    input: {
      filename: record.input.filename,
      bytes: record.input.bytes,
      width: probe.width,
      height: probe.height,
      frames: probe.frameCount,
      duration_seconds: probe.durationSeconds,
      frame_rate: `${probe.frameRate.num}/${probe.frameRate.den}`,
      variable_frame_rate: !probe.constantFrameRate,
      audio_streams: probe.streams.filter((s) => s.kind === 'audio').length,
    },
    created_at: record.createdAt,
    updated_at: record.updatedAt,
    events_url: urls.events,
  };
  if (video.etaSeconds !== undefined && record.status === 'processing') body.eta_seconds = video.etaSeconds;
  if (record.startedAt) body.started_at = record.startedAt;
  if (record.completedAt) body.completed_at = record.completedAt;
  if (completed && record.result) {
    const r = record.result;
    body.result = {
      filename: r.filename,
      bytes: r.bytes,
      format: r.format,
      width: r.width,
      height: r.height,
      download_url: urls.download,
    };
  }
  if (record.error) body.error = { code: record.error.code, message: record.error.message };
  return body;
}
