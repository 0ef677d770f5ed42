import { describe, expect, it } from 'vitest';
import { readSseEvents, type SseEvent } from '../system/sse.ts';

async function collect(chunks: string[]): Promise<SseEvent[]> {
  const encoder = new TextEncoder();
  async function* body() {
    for (const c of chunks) yield encoder.encode(c);
  }
  const events: SseEvent[] = [];
  for await (const e of readSseEvents(body())) events.push(e);
  return events;
}

describe('readSseEvents', () => {
  it('reads named events with ids, default-named events, and skips comments', async () => {
    const events = await collect([
      ': keep-alive\n\n',
      'retry: 2000\nid: 7\nevent: progress\ndata: {"progress":10}\n\n',
      'data: plain\n\n',
    ]);
    expect(events).toEqual([
      { event: 'progress', data: '{"progress":10}', id: '7' },
      { event: 'message', data: 'plain', id: '7' },
    ]);
  });

  it('joins multi-line data and accepts CRLF and CR line ends split across chunks', async () => {
    const events = await collect(['event: completed\r', '\ndata: {"a":\r\ndata: 1}\r', '\n\r', '\n', 'data: x\r\r']);
    expect(events).toEqual([
      { event: 'completed', data: '{"a":\n1}' },
      { event: 'message', data: 'x' },
    ]);
  });

  it('splits events that share a chunk and rebuilds one cut mid-line; drops an unfinished last event', async () => {
    const events = await collect(['event: a\ndata: 1\n\nevent: b\nda', 'ta: 2\n\nevent: c\ndata: 3\n']);
    expect(events.map((e) => [e.event, e.data])).toEqual([
      ['a', '1'],
      ['b', '2'],
    ]);
  });

  it('decodes UTF-8 characters split between chunks', async () => {
    const bytes = new TextEncoder().encode('data: café →\n\n');
    async function* body() {
      yield bytes.slice(0, 10);
      yield bytes.slice(10);
    }
    const events: SseEvent[] = [];
    for await (const e of readSseEvents(body())) events.push(e);
    expect(events).toEqual([{ event: 'message', data: 'café →' }]);
  });
});
