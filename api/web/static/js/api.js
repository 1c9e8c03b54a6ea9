// Talking to the Cadenza REST API: API key (sessionStorage), the one error shape, JSON and SSE calls.
import { readEvents } from "./sse.js";

const KEY_STORAGE = "cadenza.apiKey";

export class ApiError extends Error {
  constructor(status, code, message, detail) {
    super(message);
    this.status = status;
    this.code = code;
    this.detail = detail;
  }
}

export function getKey() {
  return sessionStorage.getItem(KEY_STORAGE);
}

export function setKey(key) {
  if (key) sessionStorage.setItem(KEY_STORAGE, key);
  else sessionStorage.removeItem(KEY_STORAGE);
}

/** Read the API's {"error": {"code", "message", "detail"}} (or FastAPI's {"detail"}) into an ApiError. */
export async function errorFrom(response) {
  let body = null;
  try { body = await response.json(); } catch { /* not JSON */ }
  const err = body && body.error;
  if (err) return new ApiError(response.status, err.code, err.message, err.detail);
  const detail = body && body.detail;
  const message = typeof detail === "string" ? detail : `${response.status} ${response.statusText}`.trim();
  return new ApiError(response.status, "http_error", message, detail);
}

export class Client {
  /** askKey: async () => string|null, called when the server answers 401. */
  constructor({ askKey, onAuthRequired } = {}) {
    this.askKey = askKey;
    this.onAuthRequired = onAuthRequired;
  }

  headers(extra = {}) {
    const key = getKey();
    return key ? { ...extra, Authorization: `Bearer ${key}` } : { ...extra };
  }

  /** fetch with the key; on 401 ask for a key once and retry. `init` must be re-sendable (no streams). */
  async fetch(path, init = {}) {
    for (let attempt = 0; ; attempt++) {
      const response = await fetch(path, { ...init, headers: this.headers(init.headers) });
      if (response.status !== 401 || attempt > 0 || !this.askKey) {
        if (!response.ok) throw await errorFrom(response);
        return response;
      }
      if (this.onAuthRequired) this.onAuthRequired();
      const key = await this.askKey(getKey() ? "That key was not accepted. Try another one." : null);
      if (!key) throw await errorFrom(response);
      setKey(key);
    }
  }

  async json(path, init = {}) {
    const response = await this.fetch(path, init);
    return response.status === 204 ? null : response.json();
  }

  post(path, body) {
    return this.json(path, {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify(body),
    });
  }

  /** POST JSON asking for SSE; yields {event, data}. Falls back to one "done" if the server sends JSON. */
  async *stream(path, body) {
    const response = await this.fetch(path, {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "text/event-stream" },
      body: JSON.stringify(body),
    });
    const type = response.headers.get("Content-Type") || "";
    if (!type.includes("text/event-stream")) {
      yield { event: "done", data: await response.json() };
      return;
    }
    yield* readEvents(response.body);
  }
}
