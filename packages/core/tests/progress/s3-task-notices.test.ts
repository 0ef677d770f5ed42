import { randomUUID } from 'node:crypto';
import { keys, taskIdFromKey, taskNoticesFromMessage } from '@photoenhance/core';
import { describe, expect, it } from 'vitest';

/** An S3 event notification as S3 sends it (notification-content-structure), one record per key. */
function s3Event(records: Array<{ key: string; eventName?: string; eventTime?: string }>): string {
  return JSON.stringify({
    Records: records.map((r) => ({
      eventVersion: '2.1',
      eventSource: 'aws:s3',
      awsRegion: 'us-east-1',
      eventTime: r.eventTime ?? '2026-12-07T19:30:00.123Z',
      eventName: r.eventName ?? 'ObjectCreated:Put',
      userIdentity: { principalId: 'AWS:AROAEXAMPLE' },
      s3: {
        s3SchemaVersion: '1.0',
        configurationId: 'task-changes',
        bucket: { name: 'photoenhance', arn: 'arn:aws:s3:::photoenhance' },
        object: { key: r.key, size: 321, eTag: 'abc', sequencer: '0055AED6DCD90281E5' },
      },
    })),
  });
}

describe('S3 event notifications → task change notices', () => {
  const a = randomUUID();
  const b = randomUUID();

  it('names the task of each record and cancel-marker write or removal in a raw S3 event', () => {
    const notices = taskNoticesFromMessage(
      s3Event([
        { key: keys.taskRecord(a) },
        { key: keys.cancelMarker(b) },
        { key: keys.taskRecord(b), eventName: 'ObjectRemoved:Delete', eventTime: '2026-12-07T19:30:01.000Z' },
      ]),
    );
    expect(notices).toEqual({
      taskIds: [a, b, b],
      eventTimes: [
        Date.parse('2026-12-07T19:30:00.123Z'),
        Date.parse('2026-12-07T19:30:00.123Z'),
        Date.parse('2026-12-07T19:30:01.000Z'),
      ],
      unreadable: false,
    });
  });

  it('reads the same event inside an SNS envelope (a subscription without raw delivery)', () => {
    const envelope = JSON.stringify({
      Type: 'Notification',
      MessageId: randomUUID(),
      TopicArn: 'arn:aws:sns:us-east-1:123456789012:task-changes',
      Subject: 'Amazon S3 Notification',
      Message: s3Event([{ key: keys.taskRecord(a) }]),
      Timestamp: '2026-12-07T19:30:00.200Z',
    });
    expect(taskNoticesFromMessage(envelope).taskIds).toEqual([a]);
  });

  it("ignores S3's test event, keys outside tasks/ and what under tasks/ is not a task's", () => {
    const test = JSON.stringify({
      Service: 'Amazon S3',
      Event: 's3:TestEvent',
      Time: '2026-12-07T19:30:00.000Z',
      Bucket: 'photoenhance',
    });
    expect(taskNoticesFromMessage(test)).toEqual({ taskIds: [], eventTimes: [], unreadable: false });
    const others = taskNoticesFromMessage(
      s3Event([
        { key: keys.input(a, 'face.png') },
        { key: keys.batchRecord(b) },
        { key: keys.conditionalWriteProbe },
        { key: `tasks/${a}.json.tmp` },
        { key: `tasks/nested/${a}.json` },
        { key: 'tasks/not-a-uuid.json' },
        { key: keys.taskRecord(a), eventName: 'ObjectTagging:Put' },
      ]),
    );
    expect(others).toEqual({ taskIds: [], eventTimes: [], unreadable: false });
  });

  it('decodes keys the way S3 encodes them and returns ids in canonical lower case', () => {
    expect(taskIdFromKey(`tasks%2F${a.toUpperCase()}.json`)).toBe(a);
    expect(taskIdFromKey(`tasks/${a}.cancel`)).toBe(a);
    expect(taskIdFromKey('tasks/%E0%A4%A.json')).toBeUndefined();
  });

  it('skips a malformed record but keeps its siblings; a body that is no S3 event is unreadable', () => {
    const mixed = JSON.parse(s3Event([{ key: keys.taskRecord(a) }])) as { Records: unknown[] };
    mixed.Records.unshift({ eventName: 'ObjectCreated:Put', s3: { object: {} } }, 'junk');
    expect(taskNoticesFromMessage(JSON.stringify(mixed)).taskIds).toEqual([a]);
    for (const body of ['', 'not json', '{"Records":"x"}', JSON.stringify({ Type: 'Notification', Message: '{' })]) {
      expect(taskNoticesFromMessage(body), body).toEqual({ taskIds: [], eventTimes: [], unreadable: true });
    }
  });
});
