// Normalising the API's stream events and payloads. The feedback and chat streams send FeedbackEvent
// objects (type start | delta | error | done; done carries the checked FeedbackResult that replaces the draft).

/** Find the FeedbackResult ({text, citations}) inside a done payload, however the route wraps it. */
export function findResult(payload) {
  if (!payload || typeof payload !== "object") return null;
  if (typeof payload.text === "string" && (Array.isArray(payload.citations) || payload.generator)) return payload;
  for (const key of ["result", "feedback", "message", "reply", "answer", "assistant"]) {
    const found = findResult(payload[key]);
    if (found) return found;
  }
  return null;
}

/** {type, text, message, result} from one SSE {event, data}. */
export function normaliseEvent(ev) {
  const data = ev.data;
  const obj = data && typeof data === "object" ? data : {};
  const type = (obj.type || ev.event || "message").toLowerCase();
  if (type === "delta" || type === "token" || type === "message") {
    const text = typeof data === "string" ? data : obj.text ?? obj.delta ?? obj.content ?? "";
    return { type: "delta", text };
  }
  if (type === "error") return { type, message: obj.message || (typeof data === "string" ? data : "the model failed") };
  if (type === "done") return { type, result: findResult(obj) };
  return { type };
}

/** The scorer report inside GET /v1/performances/{id}, under whichever key the API uses. */
export function findReport(perf) {
  if (!perf || typeof perf !== "object") return null;
  for (const key of ["report", "scores", "result", "performance"]) {
    const r = perf[key];
    if (r && Array.isArray(r.dimensions)) return r;
  }
  return Array.isArray(perf.dimensions) ? perf : null;
}
