// dialogs.js — the settings dialog and the API-key prompt.
import { getKey, loadSettings, saveSettings, setKey } from './api.js';

const $ = (id) => document.getElementById(id);
const FIELDS = ['system', 'temperature', 'top_p', 'top_k', 'min_p', 'max_tokens', 'seed', 'base'];

// onSaved() runs after a change that may need /props again (URL, key).
export function initDialogs(onSaved) {
  const form = $('settings-form');
  const dlg = $('settings');
  $('settings-btn').addEventListener('click', () => {
    const s = loadSettings();
    for (const f of FIELDS) form.elements[f].value = s[f] ?? '';
    form.elements.key.value = getKey();
    dlg.showModal();
  });
  dlg.addEventListener('close', () => {
    if (dlg.returnValue !== 'save') return;
    const s = {};
    for (const f of FIELDS) {
      const v = form.elements[f].value;
      if (v !== '') s[f] = v;
    }
    saveSettings(s);
    setKey(form.elements.key.value.trim());
    onSaved();
  });
  const kd = $('keydlg');
  kd.addEventListener('close', () => {
    if (kd.returnValue !== 'save') return;
    setKey($('key-input').value.trim());
    onSaved();
  });
}

// Shows the placeholders: what the server uses when a field is empty.
export function showDefaults(defaults) {
  const form = $('settings-form');
  for (const f of ['temperature', 'top_p', 'top_k', 'min_p', 'seed']) {
    const v = defaults[f];
    if (v !== undefined && v !== null) form.elements[f].placeholder = String(v);
  }
  if (defaults.n_predict !== undefined) form.elements.max_tokens.placeholder = String(defaults.n_predict);
}

export function askKey(why) {
  const kd = $('keydlg');
  if (kd.open) return;
  $('key-why').textContent = why;
  $('key-input').value = getKey();
  kd.showModal();
  $('key-input').focus();
}
