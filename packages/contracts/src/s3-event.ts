import { z } from 'zod';

/**
 * What the progress channel reads of an S3 event notification (docs/design.md §7): only the event name, its time and the
 * object key of each record. Everything else S3 sends (bucket, size, etag, sequencer, requester…) is stripped,
 * never checked, so a field AWS adds later cannot make a notice fail to parse.
 * https://docs.aws.amazon.com/AmazonS3/latest/userguide/notification-content-structure.html
 */
export const S3EventRecordSchema = z.object({
  /** Without the `s3:` prefix: ObjectCreated:Put, ObjectRemoved:Delete… */
  eventName: z.string(),
  /** ISO 8601, when S3 saw the change (the lag metric). */
  eventTime: z.string().optional(),
  s3: z.object({
    object: z.object({
      /** URL-encoded the way S3 encodes it in notifications (spaces as '+'). */
      key: z.string().min(1),
    }),
  }),
});
export type S3EventRecord = z.output<typeof S3EventRecordSchema>;

/** An S3 event notification: one or more records. */
export const S3EventNotificationSchema = z.object({
  Records: z.array(z.unknown()),
});

/** Sent once when a notification configuration is saved; carries no object. */
export const S3TestEventSchema = z.object({
  Event: z.literal('s3:TestEvent'),
});

/**
 * An SNS envelope (a subscription without raw message delivery): the S3 event is the JSON string in `Message`.
 * Read too, so a subscription created or changed by hand without RawMessageDelivery still works.
 */
export const SnsEnvelopeSchema = z.object({
  Type: z.literal('Notification'),
  Message: z.string(),
});
