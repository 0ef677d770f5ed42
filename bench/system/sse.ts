/** A minimal Server-Sent Events reader (the WHATWG event-stream format) over a fetch body. */

export interface SseEvent {
  /** `message` when the server sent no `event:` line. */
  event: string;
  data: string;
  id?: string;
}

/** Yields each complete event; comments and unknown fields are skipped, multi-line data is joined with \n. */
export async function* readSseEvents(body: AsyncIterable<Uint8Array>): AsyncGenerator<SseEvent> {
  const decoder = new TextDecoder();
  let buffer = '';
  let event = '';
  let data: string[] = [];
  let id: string | undefined;
  const flush = (): SseEvent | undefined => {
    const out =
      data.length > 0 ? { event: event || 'message', data: data.join('\n'), ...(id ? { id } : {}) } : undefined;
    event = '';
    data = [];
    return out;
  };
  const line = (text: string): SseEvent | undefined => {
    if (text === '') return flush();
    if (text.startsWith(':')) return undefined;
    const colon = text.indexOf(':');
    const field = colon < 0 ? text : text.slice(0, colon);
    let value = colon < 0 ? '' : text.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'event') event = value;
    else if (field === 'data') data.push(value);
    else if (field === 'id') id = value;
    return undefined;
  };
  for await (const chunk of body) {
    buffer += decoder.decode(chunk, { stream: true });
    // Lines end in \n, \r\n or \r; a trailing \r may be the first half of \r\n, so keep it for the next chunk.
    for (;;) {
      const match = /\r\n|\n|\r(?=[^\n])/.exec(buffer);
      if (!match) break;
      const ready = line(buffer.slice(0, match.index));
      buffer = buffer.slice(match.index + match[0].length);
      if (ready) yield ready;
    }
  }
  // A final lone \r was a line end after all; a stream that ends mid-event drops that event, as the spec says.
  if (buffer.endsWith('\r')) {
    const ready = line(buffer.slice(0, -1));
    if (ready) yield ready;
  }
}
