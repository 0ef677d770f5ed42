import {
  S3EventNotificationSchema,
  S3EventRecordSchema,
  S3TestEventSchema,
  SnsEnvelopeSchema,
  TaskIdSchema,
} from '@photoenhance/contracts';

/** What one SQS message body said: the tasks whose record (or cancel marker) changed, and when S3 saw it. */
export interface TaskNotices {
  taskIds: string[];
  /** eventTime of each record that named a task (ms since the epoch), for the lag metric. */
  eventTimes: number[];
  /** The body was neither an S3 event, an SNS envelope of one, nor S3's test event. */
  unreadable: boolean;
}

/**
 * tasks/{taskId}.json (the record) and tasks/{taskId}.cancel (the cancel marker) name a task; anything else under
 * tasks/ (the conditional-write probe) and every other prefix does not. Batch records live under batches/ and are
 * written once by the API, so no batch stream needs their notices: a batch stream watches its tasks' records.
 */
const TASK_KEY = /^tasks\/([^/]+)\.(?:json|cancel)$/;

/** S3 URL-encodes keys in notifications, with '+' for a space (notification-content-structure). */
function decodeKey(raw: string): string | undefined {
  try {
    return decodeURIComponent(raw.replace(/\+/g, ' '));
  } catch {
    return undefined;
  }
}

export function taskIdFromKey(rawKey: string): string | undefined {
  const key = decodeKey(rawKey);
  const match = key ? TASK_KEY.exec(key) : null;
  if (!match) return undefined;
  const id = TaskIdSchema.safeParse(match[1]);
  return id.success ? id.data : undefined;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/**
 * Reads one SQS message body defensively: a raw S3 event (RawMessageDelivery), the same inside an SNS envelope
 * (a subscription without raw delivery), or S3's s3:TestEvent (ignored). A record that does not parse is skipped,
 * not the whole message: its siblings still count.
 */
export function taskNoticesFromMessage(body: string): TaskNotices {
  const notices: TaskNotices = { taskIds: [], eventTimes: [], unreadable: false };
  let parsed = parseJson(body);
  const envelope = SnsEnvelopeSchema.safeParse(parsed);
  if (envelope.success) parsed = parseJson(envelope.data.Message);
  if (S3TestEventSchema.safeParse(parsed).success) return notices;
  const event = S3EventNotificationSchema.safeParse(parsed);
  if (!event.success) return { ...notices, unreadable: true };
  for (const raw of event.data.Records) {
    const record = S3EventRecordSchema.safeParse(raw);
    if (!record.success) continue;
    if (!/^(?:ObjectCreated|ObjectRemoved):/.test(record.data.eventName)) continue;
    const taskId = taskIdFromKey(record.data.s3.object.key);
    if (!taskId) continue;
    notices.taskIds.push(taskId);
    const at = record.data.eventTime ? Date.parse(record.data.eventTime) : Number.NaN;
    if (Number.isFinite(at)) notices.eventTimes.push(at);
  }
  return notices;
}
