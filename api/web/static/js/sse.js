// Server-sent events over fetch: EventSource cannot POST or send an Authorization header.
// Spec: https://html.spec.whatwg.org/multipage/server-sent-events.html#event-stream-interpretation

/** Parse one event block (lines between blank lines) into {event, data} or null for comments only. */
export function parseEventBlock(block) {
  let event = "message";
  const data = [];
  let seen = false;
  for (const line of block.split(/\r\n|\r|\n/)) {
    if (line === "" || line.startsWith(":")) continue;
    const colon = line.indexOf(":");
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    if (field === "event") { event = value; seen = true; }
    else if (field === "data") { data.push(value); seen = true; }
  }
  if (!seen) return null;
  const text = data.join("\n");
  let parsed = text;
  try { parsed = JSON.parse(text); } catch { /* plain-text data stays a string */ }
  return { event, data: parsed };
}

/** Split a growing buffer into complete event blocks; returns [blocks, rest]. */
export function splitBlocks(buffer) {
  const blocks = [];
  const boundary = /\r\n\r\n|\n\n|\r\r/g;
  let start = 0;
  let match;
  while ((match = boundary.exec(buffer)) !== null) {
    blocks.push(buffer.slice(start, match.index));
    start = match.index + match[0].length;
  }
  return [blocks, buffer.slice(start)];
}

/** Async iterator of {event, data} from a fetch Response body (a ReadableStream of bytes). */
export async function* readEvents(body) {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += decoder.decode(value, { stream: true });
      const [blocks, rest] = splitBlocks(buffer);
      buffer = rest;
      for (const block of blocks) {
        const ev = parseEventBlock(block);
        if (ev) yield ev;
      }
    }
    buffer += decoder.decode();
    const last = parseEventBlock(buffer);
    if (last) yield last;
  } finally {
    reader.releaseLock();
  }
}
