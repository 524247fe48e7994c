// api.js — the HTTP API the page uses (only the public OpenAI/llama-server
// endpoints, so it works against any compatible server): settings, the API
// key, /props, and streamed chat completions read from an SSE body.

const SETTINGS_KEY = 'llamafile.settings';
const APIKEY_KEY = 'llamafile.apikey';
const NUMERIC = ['temperature', 'top_p', 'top_k', 'min_p', 'max_tokens', 'seed'];

export function loadSettings() {
  try {
    return JSON.parse(localStorage.getItem(SETTINGS_KEY)) || {};
  } catch {
    return {};
  }
}

export function saveSettings(s) {
  localStorage.setItem(SETTINGS_KEY, JSON.stringify(s));
}

export function getKey() {
  return localStorage.getItem(APIKEY_KEY) || '';
}

export function setKey(k) {
  if (k) localStorage.setItem(APIKEY_KEY, k);
  else localStorage.removeItem(APIKEY_KEY);
}

function baseUrl() {
  const b = (loadSettings().base || '').trim().replace(/\/+$/, '');
  return b.replace(/\/v1$/, '');
}

function headers() {
  const h = { 'Content-Type': 'application/json' };
  const k = getKey();
  if (k) h.Authorization = 'Bearer ' + k;
  return h;
}

// An error the page shows in the conversation; kind is one of auth, busy,
// context, network, http, stream.
export class ApiError extends Error {
  constructor(kind, message, status) {
    super(message);
    this.kind = kind;
    this.status = status;
  }
}

async function httpError(res) {
  let msg = '', type = '';
  try {
    const j = await res.json();
    msg = (j.error && (j.error.message || j.error)) || j.message || '';
    type = (j.error && j.error.type) || '';
  } catch {
    /* not JSON */
  }
  if (typeof msg !== 'string') msg = JSON.stringify(msg);
  if (res.status === 401 || res.status === 403 && /key/i.test(msg))
    return new ApiError('auth', 'The server needs a valid API key (' + (msg || 'unauthorized') + ').', res.status);
  if (res.status === 503) {
    const after = res.headers.get('Retry-After');
    return new ApiError('busy', 'The server is busy (every slot and the queue are full)' +
      (after ? '; try again in ' + after + ' s.' : '; try again shortly.'), 503);
  }
  if (type === 'exceed_context_size_error' || /context/i.test(msg) && res.status === 400)
    return new ApiError('context', 'This conversation no longer fits the model\'s context: ' + msg +
      '\nStart a new chat, or delete or shorten earlier messages.', res.status);
  return new ApiError('http', 'The server answered ' + res.status + (msg ? ': ' + msg : '') + '.', res.status);
}

async function request(path, opts) {
  let res;
  try {
    res = await fetch(baseUrl() + path, opts);
  } catch (e) {
    if (e.name === 'AbortError') throw e;
    throw new ApiError('network', 'Cannot reach the server' + (baseUrl() ? ' at ' + baseUrl() : '') +
      ' (stopped, or the connection was lost).');
  }
  if (!res.ok) throw await httpError(res);
  return res;
}

// { model, n_ctx } from /props (llama-server) or /v1/models (any server).
export async function fetchInfo() {
  const info = { model: '', n_ctx: 0, defaults: {} };
  try {
    const p = await (await request('/props', { headers: headers() })).json();
    info.model = p.model_alias || p.model_path || '';
    const g = p.default_generation_settings || {};
    info.n_ctx = g.n_ctx || p.n_ctx || 0;
    info.defaults = g.params || {};
    return info;
  } catch (e) {
    if (e.kind === 'auth' || e.kind === 'network') throw e;
  }
  const m = await (await request('/v1/models', { headers: headers() })).json();
  const d = (m.data || [])[0] || {};
  info.model = d.id || '';
  info.n_ctx = (d.meta && d.meta.n_ctx) || 0;
  return info;
}

// The request body: messages plus the settings that are set.
export function chatBody(messages, settings, model) {
  const body = { messages, stream: true, stream_options: { include_usage: true } };
  if (model) body.model = model;
  for (const k of NUMERIC) {
    const v = settings[k];
    if (v !== undefined && v !== null && v !== '' && !Number.isNaN(Number(v))) body[k] = Number(v);
  }
  return body;
}

// Streams a chat completion: onDelta({content, reasoning}) per chunk;
// resolves to { finish, usage, timings } or throws ApiError / AbortError.
export async function streamChat(body, signal, onDelta) {
  const res = await request('/v1/chat/completions', {
    method: 'POST', headers: headers(), body: JSON.stringify(body), signal,
  });
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  const out = { finish: null, usage: null, timings: null };
  let buf = '';
  for (;;) {
    let r;
    try {
      r = await reader.read();
    } catch (e) {
      if (e.name === 'AbortError' || signal.aborted) throw e;
      throw new ApiError('network', 'The connection was lost in the middle of the answer.');
    }
    if (r.done) break;
    buf += r.value.replace(/\r\n?/g, '\n');
    let i;
    while ((i = buf.indexOf('\n\n')) >= 0) {
      const event = buf.slice(0, i);
      buf = buf.slice(i + 2);
      for (const line of event.split('\n')) {
        if (!line.startsWith('data:')) continue;
        const data = line.slice(5).trim();
        if (data === '[DONE]') return out;
        let j;
        try {
          j = JSON.parse(data);
        } catch {
          throw new ApiError('stream', 'The server sent something that is not JSON: ' + data.slice(0, 200));
        }
        if (j.error) {
          const m = j.error.message || JSON.stringify(j.error);
          throw new ApiError(j.error.type === 'exceed_context_size_error' ? 'context' : 'stream', m);
        }
        if (j.usage) out.usage = j.usage;
        if (j.timings) out.timings = j.timings;
        const c = (j.choices || [])[0];
        if (!c) continue;
        if (c.finish_reason) out.finish = c.finish_reason;
        const d = c.delta || {};
        if (d.content || d.reasoning_content)
          onDelta({ content: d.content || '', reasoning: d.reasoning_content || '' });
      }
    }
  }
  if (!out.finish) throw new ApiError('network', 'The connection was lost before the answer ended.');
  return out;
}
