// Feedback text with citation markers turned into buttons. The API's final text uses [n], [n, m]
// or [n-m] markers that refer to `citations[].n`; a marker without a citation stays plain text.

const MARKER = /\[(\d+(?:\s*[-–,]\s*\d+)*)\]/g;

/** The URL when it may become a link (an absolute http or https URL), else null: a javascript: or data:
 * URL in an href runs in this page. Checked here too, whatever the server sends. */
export function safeHref(url) {
  if (typeof url !== "string" || /[\s\\]/.test(url) || /[\u0000-\u001f\u007f]/.test(url)) return null;
  let parsed;
  try {
    parsed = new URL(url); // no base: relative and scheme-relative (//host) URLs throw
  } catch {
    return null;
  }
  return (parsed.protocol === "http:" || parsed.protocol === "https:") && parsed.hostname ? parsed.href : null;
}

/** Numbers referred to by one marker body: "1, 3" -> [1, 3]; "2-4" -> [2, 3, 4]. */
export function markerNumbers(body) {
  const out = [];
  for (const part of body.split(",")) {
    const range = part.split(/[-–]/).map((x) => parseInt(x.trim(), 10));
    if (range.length === 2 && range[1] >= range[0] && range[1] - range[0] < 50) {
      for (let k = range[0]; k <= range[1]; k++) out.push(k);
    } else if (range.length === 1 && Number.isFinite(range[0])) out.push(range[0]);
  }
  return out;
}

/** Split text into [{type:"text", text} | {type:"cite", numbers:[...], raw}] segments. */
export function tokenize(text) {
  const out = [];
  let last = 0;
  for (const m of text.matchAll(MARKER)) {
    if (m.index > last) out.push({ type: "text", text: text.slice(last, m.index) });
    out.push({ type: "cite", numbers: markerNumbers(m[1]), raw: m[0] });
    last = m.index + m[0].length;
  }
  if (last < text.length) out.push({ type: "text", text: text.slice(last) });
  return out;
}

/** The sentence a marker closes: the text since the previous sentence end (markers may follow the period). */
export function citingSentence(before) {
  const parts = before.trim().split(/(?<=[.!?])\s+/).filter((x) => x.trim());
  let sentence = parts.pop() || "";
  if (sentence.replace(/[^A-Za-z]/g, "").length < 12 && parts.length) sentence = `${parts.pop()} ${sentence}`;
  return sentence.trim();
}

const TIME = /\b(\d{1,2}):([0-5]\d(?:\.\d+)?)\b/g;

/** Split plain text around "m:ss" times: [{type:"text", text} | {type:"time", seconds, raw}]. */
export function splitTimes(text) {
  const out = [];
  let last = 0;
  for (const m of text.matchAll(TIME)) {
    if (m.index > last) out.push({ type: "text", text: text.slice(last, m.index) });
    out.push({ type: "time", seconds: 60 * parseInt(m[1], 10) + parseFloat(m[2]), raw: m[0] });
    last = m.index + m[0].length;
  }
  if (last < text.length) out.push({ type: "text", text: text.slice(last) });
  return out;
}

function appendText(p, text, onSeek) {
  for (const part of onSeek ? splitTimes(text) : [{ type: "text", text }]) {
    if (part.type === "text") { p.append(document.createTextNode(part.text)); continue; }
    const btn = document.createElement("button");
    btn.type = "button";
    btn.className = "link-button time";
    btn.textContent = part.raw;
    btn.setAttribute("aria-label", `Play from ${part.raw}`);
    btn.addEventListener("click", () => onSeek(part.seconds));
    p.append(btn);
  }
}

/** Render text into `container` as paragraphs; markers with a known citation become buttons, and
 * "m:ss" times become buttons that seek the recording when `onSeek` is given. */
export function renderCitedText(container, text, citations, onOpen, onSeek = null) {
  const byN = new Map((citations || []).map((c) => [c.n, c]));
  container.replaceChildren();
  for (const para of text.split(/\n\s*\n/)) {
    if (!para.trim()) continue;
    const p = document.createElement("p");
    let before = "";
    for (const seg of tokenize(para)) {
      if (seg.type === "text") { appendText(p, seg.text, onSeek); before += seg.text; continue; }
      const sentence = citingSentence(before);
      const known = seg.numbers.filter((n) => byN.has(n));
      if (!known.length) { p.append(document.createTextNode(seg.raw)); continue; }
      p.append(document.createTextNode("["));
      known.forEach((n, i) => {
        if (i) p.append(document.createTextNode(", "));
        const c = byN.get(n);
        const btn = document.createElement("button");
        btn.type = "button";
        btn.className = "cite" + (c.supported === false ? " cite-unsupported" : "");
        btn.textContent = String(n);
        btn.dataset.n = String(n);
        btn.setAttribute("aria-label", `Source ${n}: ${c.title}${c.author ? ", " + c.author : ""}`);
        btn.addEventListener("click", () => onOpen(c, sentence));
        p.append(btn);
      });
      p.append(document.createTextNode("]"));
    }
    container.append(p);
  }
}
