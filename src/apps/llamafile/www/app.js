// app.js — the chat page: messages, streaming answers, Stop / Regenerate /
// Edit / Copy, keyboard, and the wiring of the other modules.
import { chatBody, fetchInfo, loadSettings, streamChat } from './api.js';
import { askKey, initDialogs, showDefaults } from './dialogs.js';
import { copyText, flash, renderMarkdown, splitThink } from './render.js';
import { initSide, renderSide } from './side.js';
import { apiMessages, loadAll, newConversation, saveAll, titleFrom } from './store.js';

const $ = (id) => document.getElementById(id);
let convs = loadAll();
let cur = null;
let info = { model: '', n_ctx: 0 };
let controller = null; // the answer being streamed

const app = {
  convs: () => convs,
  current: () => cur,
  busy: () => !!controller,
  select(c) { setCurrent(c); refresh(); },
  create() {
    if (controller) stop();
    if (cur && !cur.messages.length) return refresh(); // already a fresh one
    convs.push(setCurrent(newConversation()));
    persist();
    refresh();
  },
  rename(c, title) { c.title = title; persist(); renderSide(app); title_(); },
  remove(c) {
    if (c === cur && controller) stop();
    convs = convs.filter((x) => x !== c);
    if (c === cur) cur = null;
    persist();
    pickCurrent();
    refresh();
  },
  add(list) { convs.push(...list); setCurrent(list[0] || cur); persist(); refresh(); },
  notice(text) { showNotice(text); },
};

function setCurrent(c) {
  cur = c;
  localStorage.setItem('llamafile.current', c.id); // what a reload shows
  return c;
}

function persist() {
  if (!saveAll(convs)) showNotice('This browser\'s storage is full: the conversation is not saved.');
}

function pickCurrent() {
  const id = localStorage.getItem('llamafile.current');
  const c = convs.find((x) => x.id === id) || [...convs].sort((a, b) => b.updated - a.updated)[0];
  if (c) setCurrent(c);
  else convs.push(setCurrent(newConversation()));
}

function title_() {
  $('title').textContent = cur.messages.length ? cur.title : 'llamafile';
}

function refresh() {
  renderSide(app);
  renderMessages();
  title_();
}

function showNotice(text) {
  const div = document.createElement('div');
  div.className = 'msg notice';
  const e = document.createElement('div');
  e.className = 'error';
  e.textContent = text;
  div.append(e);
  $('messages').append(div);
  div.scrollIntoView({ block: 'end' });
}

function button(label, fn, cls) {
  const b = document.createElement('button');
  b.type = 'button';
  b.textContent = label;
  b.className = cls || label.toLowerCase();
  b.addEventListener('click', () => fn(b));
  return b;
}

function statsText(m) {
  const s = m.stats;
  if (!s) return '';
  const parts = [];
  if (s.tokens) parts.push(s.tokens + ' tokens');
  if (s.tps) parts.push(s.tps.toFixed(1) + ' tokens/s');
  if (s.finish === 'length') parts.push('max tokens reached');
  if (s.stopped) parts.push('stopped');
  return parts.join(' · ');
}

// Fills a message element's parts from m (also while it streams).
function paint(div, m, streaming) {
  const split = m.role === 'assistant' && !m.reasoning ? splitThink(m.content) : { content: m.content };
  const reasoning = m.reasoning || split.reasoning || '';
  let det = div.querySelector('details.reasoning');
  if (reasoning && !det) {
    det = document.createElement('details');
    det.className = 'reasoning';
    det.innerHTML = '<summary>Thinking</summary><div class="text"></div>';
    det.open = streaming;
    div.prepend(det);
  }
  if (det) {
    det.querySelector('.text').textContent = reasoning;
    if (streaming && split.content && det.dataset.closed !== '1') {
      det.open = false; // the answer has started
      det.dataset.closed = '1';
    }
  }
  const body = div.querySelector('.body');
  if (m.role === 'user') body.textContent = m.content;
  else renderMarkdown(body, split.content, !streaming);
  let err = div.querySelector('.error');
  if (m.error && !err) {
    err = document.createElement('div');
    err.className = 'error';
    div.insertBefore(err, div.querySelector('.tools'));
  }
  if (err) err.textContent = m.error || '';
  if (err && !m.error) err.remove();
  const st = div.querySelector('.stats');
  if (st) st.textContent = statsText(m);
}

function messageEl(m, i) {
  const div = document.createElement('div');
  div.className = 'msg ' + m.role;
  div.dataset.index = i;
  const body = document.createElement('div');
  body.className = 'body';
  const tools = document.createElement('div');
  tools.className = 'tools';
  const stats = document.createElement('span');
  stats.className = 'stats';
  tools.append(stats, button('Copy', async (b) => flash(b, (await copyText(m.content)) ? 'Copied' : 'Failed')));
  const last = i === cur.messages.length - 1;
  const lastUser = cur.messages.map((x) => x.role).lastIndexOf('user') === i;
  if (m.role === 'assistant' && last) tools.append(button('Regenerate', () => regenerate()));
  if (m.role === 'user' && lastUser) tools.append(button('Edit', () => editLast(div, i)));
  div.append(body, tools);
  paint(div, m, false);
  return div;
}

function renderMessages() {
  const box = $('messages');
  box.replaceChildren();
  if (!cur.messages.length) {
    const p = document.createElement('p');
    p.id = 'empty';
    p.className = 'empty';
    p.textContent = 'Ask anything. Enter sends, Shift+Enter starts a new line, Esc stops.';
    box.append(p);
  }
  cur.messages.forEach((m, i) => box.append(messageEl(m, i)));
  box.scrollTop = box.scrollHeight;
}

function setBusy(b) {
  $('send').hidden = b;
  $('stop').hidden = !b;
  document.body.classList.toggle('busy', b);
}

async function generate() {
  const settings = loadSettings();
  const history = apiMessages({ messages: cur.messages }, settings.system);
  const m = { role: 'assistant', content: '', reasoning: '' };
  cur.messages.push(m);
  cur.updated = Date.now();
  renderMessages();
  const div = $('messages').lastElementChild;
  div.classList.add('streaming');
  const ctl = new AbortController();
  controller = ctl;
  setBusy(true);
  const t0 = performance.now();
  let tFirst = 0, chunks = 0, timer = 0;
  const box = $('messages');
  const update = () => {
    timer = 0;
    const stick = box.scrollHeight - box.scrollTop - box.clientHeight < 80;
    paint(div, m, true);
    if (stick) box.scrollTop = box.scrollHeight;
  };
  try {
    const r = await streamChat(chatBody(history, settings, info.model), ctl.signal, (d) => {
      if (!tFirst) tFirst = performance.now();
      chunks++;
      m.content += d.content;
      m.reasoning += d.reasoning;
      if (!timer) timer = setTimeout(update, 50);
    });
    const t = r.timings || {};
    const tokens = (r.usage && r.usage.completion_tokens) || t.predicted_n || chunks;
    const secs = (performance.now() - (tFirst || t0)) / 1000;
    m.stats = { tokens, tps: t.predicted_per_second || (secs > 0 && tokens > 1 ? (tokens - 1) / secs : 0),
      finish: r.finish };
  } catch (e) {
    if (e.name === 'AbortError') {
      const secs = (performance.now() - (tFirst || t0)) / 1000;
      m.stats = { tokens: chunks, tps: secs > 0 && chunks > 1 ? (chunks - 1) / secs : 0, stopped: true };
    } else {
      m.error = e.message || String(e);
      if (e.kind === 'auth') askKey('The server refused the request: enter its API key, then Regenerate.');
    }
  } finally {
    clearTimeout(timer);
    if (controller === ctl) controller = null;
    setBusy(!!controller);
    if (!m.reasoning) delete m.reasoning;
    cur.updated = Date.now();
    persist();
    if (div.isConnected) {
      const fresh = messageEl(m, cur.messages.indexOf(m));
      div.replaceWith(fresh);
      box.scrollTop = box.scrollHeight;
    }
    renderSide(app);
  }
}

function stop() {
  if (controller) controller.abort();
}

function send() {
  const input = $('input');
  const text = input.value;
  if (!text.trim() || controller) return;
  input.value = '';
  autosize();
  if (!cur.messages.length) cur.title = titleFrom(text);
  cur.messages.push({ role: 'user', content: text });
  title_();
  generate();
}

function regenerate() {
  if (controller) return;
  const last = cur.messages[cur.messages.length - 1];
  if (last && last.role === 'assistant') cur.messages.pop();
  if (!cur.messages.length) return refresh();
  generate();
}

function editLast(div, i) {
  if (controller) return;
  const m = cur.messages[i];
  const ta = document.createElement('textarea');
  ta.value = m.content;
  ta.setAttribute('aria-label', 'Edit message');
  div.classList.add('editing');
  div.querySelector('.body').replaceWith(ta);
  const tools = div.querySelector('.tools');
  const save = () => {
    if (!ta.value.trim()) return;
    cur.messages.length = i; // drop this message and the answer after it
    cur.messages.push({ role: 'user', content: ta.value });
    if (i === 0) cur.title = titleFrom(ta.value);
    generate();
  };
  tools.replaceChildren(button('Cancel', () => renderMessages()), button('Send', save, 'primary'));
  ta.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) { e.preventDefault(); save(); }
  });
  ta.focus();
}

function autosize() {
  const t = $('input');
  t.style.height = 'auto';
  t.style.height = Math.min(t.scrollHeight + 2, window.innerHeight * 0.4) + 'px';
}

async function loadInfo() {
  try {
    info = await fetchInfo();
    $('model-info').textContent = (info.model.split('/').pop() || 'model') +
      (info.n_ctx ? ' · ' + info.n_ctx + ' ctx' : '');
    $('model-info').title = info.model;
    showDefaults(info.defaults || {});
  } catch (e) {
    $('model-info').textContent = e.kind === 'auth' ? 'API key needed' : 'offline';
    if (e.kind === 'auth') askKey('This server needs an API key (it was started with --api-key).');
    else showNotice(e.message || String(e));
  }
}

function init() {
  pickCurrent();
  initSide(app);
  initDialogs(loadInfo);
  $('composer').addEventListener('submit', (e) => { e.preventDefault(); send(); });
  $('stop').addEventListener('click', stop);
  const input = $('input');
  input.addEventListener('input', autosize);
  input.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      send();
    }
  });
  document.addEventListener('keydown', (e) => {
    if (e.key === 'Escape' && controller) { e.preventDefault(); stop(); }
  });
  refresh();
  input.disabled = false;
  $('send').disabled = false;
  input.focus();
  window.llamafileReadyAt = performance.now(); // first load to interactive (the browser test)
  document.body.dataset.ready = '1';
  loadInfo();
}

init();
