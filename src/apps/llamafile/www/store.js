// store.js — conversations kept in this browser (localStorage), and their
// export/import as OpenAI-style message JSON: {"messages": [...]}, the same
// shape a chat request (or the terminal chat's /save) uses.

const CONVS_KEY = 'llamafile.conversations';

// A conversation: { id, title, updated, messages: [{ role, content,
// reasoning?, stats?, error? }] } (reasoning, stats and error are the page's).
export function loadAll() {
  try {
    const a = JSON.parse(localStorage.getItem(CONVS_KEY));
    return Array.isArray(a) ? a.filter((c) => c && Array.isArray(c.messages)) : [];
  } catch {
    return [];
  }
}

export function saveAll(convs) {
  try {
    localStorage.setItem(CONVS_KEY, JSON.stringify(convs));
    return true;
  } catch {
    return false; // quota exceeded: the conversation stays in memory
  }
}

export function newConversation() {
  const id = Date.now().toString(36) + Math.random().toString(36).slice(2, 8);
  return { id, title: 'New chat', updated: Date.now(), messages: [] };
}

export function titleFrom(text) {
  const t = text.replace(/\s+/g, ' ').trim();
  return t.length > 40 ? t.slice(0, 40) + '…' : t || 'New chat';
}

// What a request (and an export) carries: role and content only.
export function apiMessages(conv, system) {
  const out = [];
  if (system && system.trim()) out.push({ role: 'system', content: system });
  for (const m of conv.messages)
    if ((m.role === 'user' || m.role === 'assistant' || m.role === 'system') &&
        (m.content || m.role !== 'assistant'))
      out.push({ role: m.role, content: m.content });
  return out;
}

export function exportJson(conv) {
  return JSON.stringify({ messages: apiMessages(conv, '') }, null, 2) + '\n';
}

function fromMessages(msgs, title) {
  const conv = newConversation();
  for (const m of msgs) {
    if (!m || typeof m.role !== 'string') continue;
    let content = m.content;
    if (Array.isArray(content)) // content parts: keep the text ones
      content = content.map((p) => (p && p.type === 'text' ? p.text : '')).join('');
    if (typeof content !== 'string') continue;
    const msg = { role: m.role, content };
    if (typeof m.reasoning_content === 'string') msg.reasoning = m.reasoning_content;
    conv.messages.push(msg);
  }
  const first = conv.messages.find((m) => m.role === 'user');
  conv.title = title || (first ? titleFrom(first.content) : 'Imported chat');
  return conv;
}

// Accepts {"messages": [...]}, a bare array of messages, or an array of
// {"messages": [...]} objects; returns conversations or throws.
export function importJson(text, name) {
  const j = JSON.parse(text);
  const base = (name || '').replace(/\.json$/i, '');
  if (Array.isArray(j) && j.length && j.every((x) => x && Array.isArray(x.messages)))
    return j.map((x) => fromMessages(x.messages, x.title));
  if (Array.isArray(j)) return [fromMessages(j, base)];
  if (j && Array.isArray(j.messages)) return [fromMessages(j.messages, j.title || base)];
  throw new Error('expected {"messages": [...]} or an array of messages');
}
