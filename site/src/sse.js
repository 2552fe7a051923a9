// Server-Sent Events from a fetch() Response (EventSource cannot POST): parsed as they arrive.
//
// The WHATWG event-stream format: lines end with \n, \r\n or \r; "event:" names the event,
// "data:" lines are joined with \n, a blank line dispatches, lines starting with ":" are comments.
// An event cut off by the end of the stream (no blank line after it) is dropped, as the spec says.

export class SseParser {
  constructor() {
    this.buffer = "";
    this.reset();
  }

  reset() {
    this.type = "";
    this.data = [];
  }

  /** Feed decoded text; returns the events completed by it: [{type, data}] (data: the joined string). */
  push(text) {
    this.buffer += text;
    const events = [];
    for (;;) {
      const match = /\r\n|\r|\n/.exec(this.buffer);
      if (!match) break;
      // A lone \r at the very end may be the first half of \r\n: wait for more.
      if (match[0] === "\r" && match.index === this.buffer.length - 1) break;
      const line = this.buffer.slice(0, match.index);
      this.buffer = this.buffer.slice(match.index + match[0].length);
      const event = this.line(line);
      if (event) events.push(event);
    }
    return events;
  }

  line(line) {
    if (line === "") {
      if (!this.data.length) {
        this.reset();
        return null;
      }
      const event = { type: this.type || "message", data: this.data.join("\n") };
      this.reset();
      return event;
    }
    if (line.startsWith(":")) return null; // a comment (keep-alive)
    const colon = line.indexOf(":");
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    if (field === "event") this.type = value;
    else if (field === "data") this.data.push(value);
    return null; // id and retry mean nothing for a one-shot POST
  }
}

/**
 * Read a text/event-stream Response to its end, calling onEvent(type, data) for each event with its
 * data parsed as JSON. Resolves when the stream ends; rejects when the connection breaks.
 */
export async function readEventStream(response, onEvent) {
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  const parser = new SseParser();
  const deliver = (events) => {
    for (const event of events) {
      let data;
      try {
        data = JSON.parse(event.data);
      } catch (_err) {
        data = { text: event.data };
      }
      onEvent(event.type, data);
    }
  };
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      deliver(parser.push(decoder.decode(value, { stream: true })));
    }
    deliver(parser.push(decoder.decode() + "\n")); // a final \r, if any, ends its line
  } catch (err) {
    reader.cancel().catch(() => {});
    throw err;
  } finally {
    reader.releaseLock();
  }
}
