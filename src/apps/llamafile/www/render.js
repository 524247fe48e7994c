// render.js — model output to safe HTML: markdown by marked, sanitised by
// DOMPurify (no script, no handlers, no javascript: URLs, no images or
// forms), code highlighted by highlight.js, links opened in a new tab. The
// page's Content-Security-Policy (server/static.c) stops inline script even
// if something slipped through.

let hooked = false;

const escapeHtml = (s) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

// Raw HTML in an answer is shown as the text the model wrote, never parsed:
// the sanitiser then only ever sees marked's own tags (its links' URLs are
// what it must clean).
function setup() {
  const P = window.DOMPurify;
  if (P && window.marked && !hooked) {
    marked.use({ renderer: { html: (html) => escapeHtml(typeof html === 'string' ? html : html.text || '') } });
    P.addHook('afterSanitizeAttributes', (node) => {
      if (node.tagName === 'A' && node.getAttribute('href')) {
        node.setAttribute('target', '_blank');
        node.setAttribute('rel', 'noopener noreferrer');
      }
    });
    hooked = true;
  }
  return P;
}

const PURIFY = {
  RETURN_DOM_FRAGMENT: true,
  FORBID_TAGS: ['style', 'img', 'svg', 'math', 'form', 'input', 'button', 'textarea',
    'select', 'iframe', 'object', 'embed', 'video', 'audio', 'source', 'picture', 'link', 'meta'],
  FORBID_ATTR: ['style', 'srcset', 'action', 'formaction'],
  ALLOW_DATA_ATTR: false,
};

function plain(el, text) {
  const p = document.createElement('p');
  p.style.whiteSpace = 'pre-wrap';
  p.textContent = text;
  el.replaceChildren(p);
}

export async function copyText(text) {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    // no clipboard API (a page served over plain http to another machine)
    const t = document.createElement('textarea');
    t.value = text;
    document.body.appendChild(t);
    t.select();
    let ok = false;
    try {
      ok = document.execCommand('copy');
    } catch {
      ok = false;
    }
    t.remove();
    return ok;
  }
}

export function flash(button, text) {
  const old = button.textContent;
  button.textContent = text;
  setTimeout(() => { button.textContent = old; }, 1200);
}

function decorateCode(root, highlight) {
  for (const code of root.querySelectorAll('pre > code')) {
    const m = /(?:^|\s)language-([\w+#-]+)/.exec(code.className);
    const lang = m && m[1].toLowerCase();
    if (highlight && window.hljs && lang && hljs.getLanguage(lang)) {
      try {
        const html = hljs.highlight(lang, code.textContent, true).value;
        code.replaceChildren(window.DOMPurify.sanitize(html, PURIFY));
        code.classList.add('hljs');
      } catch {
        /* leave it plain */
      }
    }
    const b = document.createElement('button');
    b.type = 'button';
    b.className = 'copy-code';
    b.textContent = 'Copy';
    b.addEventListener('click', async () => flash(b, (await copyText(code.textContent)) ? 'Copied' : 'Failed'));
    code.parentElement.appendChild(b);
  }
}

// Renders text into el. highlight: false while an answer streams (cheaper);
// the final render highlights.
export function renderMarkdown(el, text, highlight = true) {
  const P = setup();
  if (!window.marked || !P) {
    plain(el, text); // the libraries did not load: text is always safe
    return;
  }
  let frag;
  try {
    const html = marked.parse(text, { gfm: true, breaks: false, mangle: false, headerIds: false });
    frag = P.sanitize(html, PURIFY);
  } catch {
    plain(el, text);
    return;
  }
  el.replaceChildren(frag);
  decorateCode(el, highlight);
}

// Models that write their thinking inline: "<think>...</think>answer".
export function splitThink(content) {
  const m = /^\s*<think>([\s\S]*?)(?:<\/think>\s*([\s\S]*))?$/.exec(content);
  if (!m) return { reasoning: '', content };
  return { reasoning: m[1], content: m[2] || '', thinking: m[2] === undefined };
}
