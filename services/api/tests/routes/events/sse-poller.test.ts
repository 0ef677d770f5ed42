import { Hono } from 'hono';
import { streamSSE } from 'hono/streaming';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { pollToSse, type Snapshot } from '../../../src/routes/events/sse-poller.ts';

/** Serves the snapshots in order through the real hono SSE stream and returns the events as sent. */
async function eventsFor(snapshots: Snapshot[]): Promise<{ event: string; id: string }[]> {
  const app = new Hono();
  let i = 0;
  app.get('/', (c) =>
    streamSSE(c, (stream) =>
      pollToSse(stream, {
        read: async () => snapshots[Math.min(i++, snapshots.length - 1)] as Snapshot,
        pollMs: 1,
        keepAliveMs: 60_000,
        logger: pino({ level: 'silent' }),
      }),
    ),
  );
  const text = await (await app.request('/')).text();
  return text
    .trim()
    .split('\n\n')
    .map((block) => ({
      event: /^event: (.*)$/m.exec(block)?.[1] ?? '',
      id: /^id: (.*)$/m.exec(block)?.[1] ?? '',
    }));
}

const snap = (id: number, event: string, terminal = false): Snapshot => ({
  id,
  event,
  data: { event, id },
  terminal,
  fingerprint: `${event}:${id}`,
});

describe('pollToSse', () => {
  it('sends each newer state once and ends after the final one', async () => {
    expect(
      await eventsFor([snap(10, 'progress'), snap(10, 'progress'), snap(20, 'progress'), snap(30, 'completed', true)]),
    ).toEqual([
      { event: 'progress', id: '10' },
      { event: 'progress', id: '20' },
      { event: 'completed', id: '30' },
    ]);
  });

  it('still sends a final state whose id is older than the last event, with an id that keeps growing', async () => {
    // A task record stamped at 100 landing after another task's progress stamped 105 (the e2e batch flake).
    expect(await eventsFor([snap(105, 'progress'), snap(100, 'completed', true)])).toEqual([
      { event: 'progress', id: '105' },
      { event: 'completed', id: '106' },
    ]);
  });
});
