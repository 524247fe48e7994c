// side.js — the side list of conversations (new, pick, rename, delete) and
// export/import of the current one as OpenAI-message JSON.
import { exportJson, importJson } from './store.js';

const $ = (id) => document.getElementById(id);

// app: { convs(), current(), select(conv), create(), rename(conv, title),
// remove(conv), add(convs), busy(), notice(text) }
export function initSide(app) {
  const closeOnPhone = () => $('app').classList.remove('side-open');
  $('menu').addEventListener('click', () => $('app').classList.toggle('side-open'));
  $('scrim').addEventListener('click', closeOnPhone);
  $('new-chat').addEventListener('click', () => {
    app.create();
    closeOnPhone();
    $('input').focus();
  });
  $('export').addEventListener('click', () => {
    const c = app.current();
    const blob = new Blob([exportJson(c)], { type: 'application/json' });
    const a = document.createElement('a');
    a.href = URL.createObjectURL(blob);
    a.download = (c.title || 'chat').replace(/[^\w.-]+/g, '_').slice(0, 60) + '.json';
    document.body.appendChild(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(a.href), 1000);
  });
  $('import-btn').addEventListener('click', () => $('import').click());
  $('import').addEventListener('change', async (e) => {
    const f = e.target.files[0];
    e.target.value = '';
    if (!f) return;
    try {
      app.add(importJson(await f.text(), f.name));
    } catch (err) {
      app.notice('Cannot import ' + f.name + ': ' + err.message);
    }
  });
}

function renameInline(li, conv, app) {
  const name = li.querySelector('.name');
  const input = document.createElement('input');
  input.value = conv.title;
  input.setAttribute('aria-label', 'Conversation name');
  name.replaceWith(input);
  input.focus();
  input.select();
  let done = false;
  const finish = (keep) => {
    if (done) return;
    done = true;
    if (keep && input.value.trim()) app.rename(conv, input.value.trim());
    else renderSide(app);
  };
  input.addEventListener('keydown', (e) => {
    if (e.key === 'Enter') finish(true);
    if (e.key === 'Escape') { e.stopPropagation(); finish(false); }
  });
  input.addEventListener('blur', () => finish(true));
  input.addEventListener('click', (e) => e.stopPropagation());
}

export function renderSide(app) {
  const ul = $('convs');
  const cur = app.current();
  const items = [...app.convs()].sort((a, b) => b.updated - a.updated);
  ul.replaceChildren(...items.map((c) => {
    const li = document.createElement('li');
    li.className = c === cur ? 'current' : '';
    li.dataset.id = c.id;
    const name = document.createElement('span');
    name.className = 'name';
    name.textContent = c.title;
    name.title = c.title;
    const ren = document.createElement('button');
    ren.type = 'button';
    ren.textContent = 'Rename';
    ren.className = 'rename';
    ren.addEventListener('click', (e) => { e.stopPropagation(); renameInline(li, c, app); });
    const del = document.createElement('button');
    del.type = 'button';
    del.textContent = 'Delete';
    del.className = 'delete';
    del.addEventListener('click', (e) => {
      e.stopPropagation();
      if (confirm('Delete "' + c.title + '"?')) app.remove(c);
    });
    li.append(name, ren, del);
    li.addEventListener('click', () => {
      if (!app.busy()) app.select(c);
      $('app').classList.remove('side-open');
    });
    return li;
  }));
}
