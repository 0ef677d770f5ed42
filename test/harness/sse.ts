/** Reads a text/event-stream response the way EventSource does (event, data, id, retry; comments kept apart). */

export interface SseMessage {
  event: string;
  data: string;
  id?: string;
  retry?: number;
}

export interface SseRead {
  events: SseMessage[];
  comments: string[];
  /** The server closed the stream (rather than `until` or the timeout ending the read). */
  ended: boolean;
}

export async function readSse(
  res: Response,
  options: { until?: (event: SseMessage) => boolean; timeoutMs?: number } = {},
): Promise<SseRead> {
  if (!res.body) throw new Error('response has no body');
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  const events: SseMessage[] = [];
  const comments: string[] = [];
  let buffer = '';
  let ended = false;
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    void reader.cancel('timeout');
  }, options.timeoutMs ?? 60_000);
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) {
        ended = !timedOut;
        break;
      }
      buffer += value;
      let stop = false;
      for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const message: SseMessage = { event: 'message', data: '' };
        const data: string[] = [];
        let isEvent = false;
        for (const line of block.split('\n')) {
          if (line.startsWith(':')) {
            comments.push(line.slice(1).trim());
            continue;
          }
          const colon = line.indexOf(':');
          const field = colon < 0 ? line : line.slice(0, colon);
          const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
          isEvent = true;
          if (field === 'event') message.event = value;
          else if (field === 'data') data.push(value);
          else if (field === 'id') message.id = value;
          else if (field === 'retry') message.retry = Number(value);
        }
        if (!isEvent) continue;
        message.data = data.join('\n');
        events.push(message);
        if (options.until?.(message)) stop = true;
      }
      if (stop) {
        await reader.cancel();
        break;
      }
    }
  } finally {
    clearTimeout(timer);
  }
  return { events, comments, ended };
}
