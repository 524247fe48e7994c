// webui.cjs — drives the web page in headless Chromium (puppeteer-core from
// tests/js). Run by test_webui.sh, which starts the servers:
//   node webui.cjs MODE URL [KEY]
// MODE main: URL is a server with --slots and -np 1 (no key);
// MODE key:  URL is a server started with --api-key KEY;
// MODE smoke: URL is any server: the page loads and answers once.
// Prints PASS/FAIL/SKIP lines and '# ' notes; screenshots go to $SCREENS.
'use strict';
const path = require('path');
const puppeteer = require(path.join(__dirname, '../js/node_modules/puppeteer-core'));

const [mode, BASE, KEY] = process.argv.slice(2);
const SCREENS = process.env.SCREENS || 'o/web-screens';
const CHROME = process.env.CHROME || '/usr/bin/chromium';
let failed = 0;
const pass = (n) => console.log('PASS ' + n);
const fail = (n, why) => { failed++; console.log('FAIL ' + n + ': ' + why); };
const check = (n, ok, why) => (ok ? pass(n) : fail(n, why));
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
let acceptConfirm = false; // the Delete button's confirm()

// The page may fetch only from the server under test.
function localOnly(page, offsite) {
  page.on('request', (req) => {
    const u = new URL(req.url());
    if (u.protocol === 'data:' || u.protocol === 'blob:' || u.hostname === '127.0.0.1') {
      if (!req.isInterceptResolutionHandled()) req.continue({}, 0);
    } else {
      offsite.push(req.url());
      req.abort('blockedbyclient', 0);
    }
  });
}

async function openPage(browser, opts = {}) {
  const page = await browser.newPage();
  const errors = [], offsite = [];
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('dialog', (d) => {
    if (acceptConfirm && d.type() === 'confirm') return d.accept();
    errors.push('dialog: ' + d.message());
    return d.dismiss();
  });
  await page.setRequestInterception(true);
  localOnly(page, offsite);
  if (opts.before) await opts.before(page);
  await page.setViewport(opts.viewport || { width: 1280, height: 800 });
  const t0 = Date.now();
  await page.goto(BASE + '/', { waitUntil: 'load', timeout: 15000 });
  await page.waitForSelector('body[data-ready="1"]', { timeout: 10000 });
  const ready = await page.evaluate(() => window.llamafileReadyAt);
  return { page, errors, offsite, ms: Date.now() - t0, ready };
}

// Types into the composer and waits for the answer to end.
async function ask(page, text, timeout = 20000) {
  const n = await page.$$eval('.msg.assistant', (a) => a.length);
  await page.click('#input');
  await page.keyboard.type(text);
  await page.keyboard.press('Enter');
  await page.waitForFunction((k) => document.querySelectorAll('.msg.assistant').length > k &&
    !document.querySelector('.msg.streaming'), { timeout }, n);
  return page.$eval('.msg.assistant:last-of-type', (d) => ({
    text: d.querySelector('.body').textContent,
    stats: d.querySelector('.stats').textContent,
    error: (d.querySelector('.error') || {}).textContent || '',
  }));
}

async function slotsIdle(url) {
  for (let i = 0; i < 80; i++) {
    const s = await (await fetch(url + '/slots')).json();
    if (s.every((x) => !x.is_processing)) return true;
    await sleep(50);
  }
  return false;
}

const FAKE_ANSWER = [
  { reasoning_content: 'The user wants a demo. ' },
  { reasoning_content: 'I will show markdown.' },
  { content: '## Safe rendering\n\nHere is <script>window.__xss = 1</script> a script, ' },
  { content: 'an image <img src=x onerror="window.__xss = 2"> and ' },
  { content: '[a link](javascript:window.__xss=3), [another](https://example.com/).\n\n' },
  { content: '| a | b |\n|---|---|\n| 1 | 2 |\n\n```python\ndef hello():\n    return "world"\n```\n' },
  { content: '<a href="javascript:window.__xss=4" onclick="window.__xss=5">click</a> ' },
  { content: '<iframe src="javascript:window.__xss=6"></iframe><svg onload="window.__xss=7"></svg>' },
];

function sse(chunks) {
  const base = { id: 'chatcmpl-fake', object: 'chat.completion.chunk', created: 1, model: 'fake' };
  const ev = (o) => 'data: ' + JSON.stringify(Object.assign({}, base, o)) + '\n\n';
  let s = ev({ choices: [{ index: 0, delta: { role: 'assistant', content: null }, finish_reason: null }] });
  for (const d of chunks) s += ev({ choices: [{ index: 0, delta: d, finish_reason: null }] });
  s += ev({ choices: [{ index: 0, delta: {}, finish_reason: 'stop' }],
    usage: { prompt_tokens: 5, completion_tokens: chunks.length, total_tokens: 5 + chunks.length } });
  return s + 'data: [DONE]\n\n';
}

async function shoot(page, name, dark, viewport) {
  await page.emulateMediaFeatures([{ name: 'prefers-color-scheme', value: dark ? 'dark' : 'light' }]);
  await page.setViewport(viewport);
  await sleep(150);
  const file = path.join(SCREENS, name + '.png');
  await page.screenshot({ path: file });
  console.log('# screenshot ' + file);
}

async function mainMode(browser) {
  const { page, errors, offsite, ms, ready } = await openPage(browser);
  console.log(`# first load to interactive: ${Math.round(ready)} ms after navigation start (${ms} ms until ready seen)`);
  const warm = await openPage(browser); // a second tab: the browser is up and the files revalidate (304)
  console.log(`# load to interactive, browser warm: ${Math.round(warm.ready)} ms (${warm.ms} ms until ready seen)`);
  await warm.page.close();
  await page.waitForFunction(() => /ctx/.test(document.getElementById('model-info').textContent), { timeout: 5000 })
    .then(() => pass('model name and n_ctx shown from /props'),
      async () => fail('model info', await page.$eval('#model-info', (e) => e.textContent)));

  // A streamed answer (answers capped by the page's own max-tokens setting).
  const SHORT = JSON.stringify({ max_tokens: '48' });
  await page.evaluate((s) => localStorage.setItem('llamafile.settings', s), SHORT);
  let sawStream = false;
  page.on('response', (r) => {
    if (r.url().endsWith('/v1/chat/completions') && /event-stream/.test(r.headers()['content-type'] || '')) sawStream = true;
  });
  const a = await ask(page, 'Once upon a time');
  check('a message gets a streamed answer', sawStream && a.text.length > 0 && !a.error && /tokens\/s/.test(a.stats),
    JSON.stringify(a) + ' stream=' + sawStream);
  check('the page loads and answers with no console errors', errors.length === 0, errors.join(' | '));
  check('no request leaves 127.0.0.1', offsite.length === 0, offsite.join(' '));

  // Stop: a long generation (ignore_eos added to the page's request), Esc.
  await page.evaluate(() => localStorage.setItem('llamafile.settings', JSON.stringify({ max_tokens: '16000' })));
  const longGen = (req) => {
    if (req.isInterceptResolutionHandled()) return;
    if (req.url().endsWith('/v1/chat/completions') && req.method() === 'POST') {
      const b = JSON.parse(req.postData());
      b.ignore_eos = true;
      req.continue({ postData: JSON.stringify(b) }, 1);
    }
  };
  page.on('request', longGen);
  await page.click('#input');
  await page.keyboard.type('Tell me a long story');
  await page.keyboard.press('Enter');
  await page.waitForFunction(() => {
    const s = document.querySelector('.msg.streaming .body');
    return s && s.textContent.length > 20;
  }, { timeout: 10000 });
  const stopVisible = await page.$eval('#stop', (b) => !b.hidden);
  await page.keyboard.press('Escape');
  if (!await page.waitForFunction(() => !document.querySelector('.msg.streaming'), { timeout: 5000 }).then(() => true, () => false)) {
    fail('Stop (Esc) aborts the answer', 'still streaming 5 s after Esc');
    return page.close();
  }
  const stopped = await page.$eval('.msg.assistant:last-of-type .stats', (e) => e.textContent);
  const idle = await slotsIdle(BASE);
  check('Stop (Esc) aborts the answer and /slots shows the slot idle', stopVisible && /stopped/.test(stopped) && idle,
    `stop button ${stopVisible}, stats "${stopped}", idle ${idle}`);
  page.off('request', longGen);
  await page.evaluate((s) => localStorage.setItem('llamafile.settings', s), SHORT);

  // Regenerate replaces the last answer; Edit resends the last question.
  const before = await page.$$eval('.msg', (m) => m.length);
  await page.click('.msg.assistant:last-of-type button.regenerate');
  await page.waitForFunction((k) => document.querySelectorAll('.msg').length === k && !document.querySelector('.msg.streaming'),
    { timeout: 20000 }, before);
  await page.click('.msg.user:nth-last-of-type(2) button.edit').catch(() => {});
  const edited = await page.$('.msg.editing textarea');
  if (edited) {
    await edited.click({ clickCount: 3 });
    await page.keyboard.type('Once there was a cat');
    await page.keyboard.press('Enter');
    await page.waitForFunction(() => !document.querySelector('.msg.streaming') && !document.querySelector('.msg.editing'), { timeout: 20000 });
  }
  const users = await page.$$eval('.msg.user .body', (b) => b.map((x) => x.textContent));
  check('Regenerate and Edit-and-resend', edited && users[users.length - 1] === 'Once there was a cat' &&
    (await page.$$eval('.msg', (m) => m.length)) === before, JSON.stringify(users));

  // A reload keeps the conversation.
  const texts = await page.$$eval('.msg .body', (b) => b.map((x) => x.textContent));
  await page.reload({ waitUntil: 'load' });
  await page.waitForSelector('body[data-ready="1"]');
  const again = await page.$$eval('.msg .body', (b) => b.map((x) => x.textContent));
  check('a reload keeps the conversation', texts.length >= 4 && JSON.stringify(texts) === JSON.stringify(again),
    `${texts.length} vs ${again.length} messages`);

  // Hostile model output renders inert (a fake server answer).
  await page.click('#new-chat');
  const fake = (req) => {
    if (req.isInterceptResolutionHandled()) return;
    if (req.url().endsWith('/v1/chat/completions'))
      req.respond({ status: 200, contentType: 'text/event-stream', body: sse(FAKE_ANSWER) }, 2);
  };
  page.on('request', fake);
  const errs0 = errors.length;
  const x = await ask(page, 'Show me markdown');
  page.off('request', fake);
  await page.$$eval('.msg.assistant:last-of-type a', (as) => as.forEach((a) => { if (!/^https?:/.test(a.href)) a.click(); }));
  await sleep(200);
  const dom = await page.$eval('.msg.assistant:last-of-type', (d) => ({
    xss: window.__xss,
    scripts: d.querySelectorAll('script, iframe, svg, img, [onerror], [onclick], [onload]').length,
    jsLinks: [...d.querySelectorAll('a')].filter((a) => /^\s*javascript:/i.test(a.getAttribute('href') || '')).length,
    ext: [...d.querySelectorAll('a[href^="https:"]')].map((a) => a.target + ' ' + a.rel),
    table: !!d.querySelector('table'),
    code: !!d.querySelector('pre code .hljs-keyword, pre code.hljs'),
    reasoning: d.querySelector('details.reasoning') ? d.querySelector('details.reasoning').open : 'none',
  }));
  check('<script>, onerror and javascript: in an answer render inert', dom.xss === undefined && dom.scripts === 0 &&
    dom.jsLinks === 0 && errors.length === errs0, JSON.stringify(dom) + ' ' + errors.slice(errs0).join(' | '));
  check('links open in a new tab with rel=noopener', dom.ext.length === 1 && /_blank/.test(dom.ext[0]) &&
    /noopener/.test(dom.ext[0]), JSON.stringify(dom.ext));
  check('markdown: table, highlighted code, reasoning collapsed', dom.table && dom.code && dom.reasoning === false,
    JSON.stringify(dom));
  check('no request left 127.0.0.1 in the whole session', offsite.length === 0, offsite.join(' '));
  await page.reload({ waitUntil: 'load' });
  await page.waitForSelector('body[data-ready="1"]');
  const kept = await page.evaluate(() => [document.getElementById('title').textContent,
    document.querySelectorAll('.msg').length, document.querySelectorAll('#convs li').length]);
  check('a reload shows the chat made with New chat, and the side list keeps both',
    kept[0] === 'Show me markdown' && kept[1] === 2 && kept[2] === 2, JSON.stringify(kept));

  const desktop = { width: 1280, height: 800 }, phone = { width: 390, height: 844, isMobile: true, deviceScaleFactor: 2 };
  await shoot(page, 'desktop-light', false, desktop);
  await shoot(page, 'desktop-dark', true, desktop);
  await shoot(page, 'phone-light', false, phone);
  await shoot(page, 'phone-dark', true, phone);
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  check('phone width: nothing wider than the screen', overflow <= 0, overflow + ' px too wide');
  await page.setViewport(desktop);
  await errorsAndConversations(page);
  await page.close();
}

// Server errors as fake responses: each must end as a readable message.
async function errorsAndConversations(page) {
  await page.click('#new-chat');
  const cases = [
    ['a context overflow (400) reads as such', { status: 400, contentType: 'application/json',
      body: JSON.stringify({ error: { code: 400, type: 'exceed_context_size_error',
        message: 'request (900 tokens) exceeds the available context size (512 tokens)' } }) },
    /no longer fits the model's context[\s\S]*512 tokens[\s\S]*new chat/],
    ['a busy server (503) reads as such', { status: 503, contentType: 'application/json',
      headers: { 'Retry-After': '3' }, body: '{"error":{"code":503,"message":"busy","type":"unavailable_error"}}' },
    /busy.*try again in 3 s/],
    ['a stream cut before its end reads as a lost connection', { status: 200, contentType: 'text/event-stream',
      body: sse([{ content: 'Half an ans' }]).split('\n\n').slice(0, 2).join('\n\n') + '\n\n' },
    /connection was lost/],
  ];
  for (const [name, resp, want] of cases) {
    const h = (req) => {
      if (!req.isInterceptResolutionHandled() && req.url().endsWith('/v1/chat/completions')) req.respond(resp, 2);
    };
    page.on('request', h);
    const a = await ask(page, 'Hello?');
    page.off('request', h);
    check(name, want.test(a.error), JSON.stringify(a));
  }
  const noHang = await page.$eval('#send', (b) => !b.hidden);
  check('after each error the page takes a new message', noHang, 'Send button hidden');

  // Import, export, rename, delete.
  const before = await page.$$eval('#convs li', (l) => l.length);
  const file = path.join(process.env.WEB_TMP || '/tmp', 'story.json');
  const msgs = [{ role: 'user', content: 'Tell me a story' }, { role: 'assistant', content: 'Once upon a *time*.' }];
  require('fs').writeFileSync(file, JSON.stringify({ messages: msgs }));
  await (await page.$('#import')).uploadFile(file);
  await page.waitForFunction((k) => document.querySelectorAll('#convs li').length === k + 1, { timeout: 5000 }, before)
    .catch(() => {});
  const imp = await page.evaluate(async () => {
    const store = await import('/store.js');
    const conv = store.loadAll().find((c) => c.title === 'story');
    return { title: document.getElementById('title').textContent, n: document.querySelectorAll('.msg').length,
      em: !!document.querySelector('.msg.assistant .body em'), exported: conv && store.exportJson(conv) };
  });
  check('Import loads OpenAI-message JSON as a conversation; Export gives it back', imp.title === 'story' && imp.n === 2 &&
    imp.em && imp.exported && JSON.stringify(JSON.parse(imp.exported)) === JSON.stringify({ messages: msgs }),
  JSON.stringify(imp));
  await page.click('#convs li.current button.rename');
  await page.keyboard.down('Control'); await page.keyboard.press('a'); await page.keyboard.up('Control');
  await page.keyboard.type('Renamed story');
  await page.keyboard.press('Enter');
  const renamed = await page.$eval('#convs li.current .name', (e) => e.textContent);
  acceptConfirm = true;
  await page.click('#convs li.current button.delete');
  acceptConfirm = false;
  await sleep(100);
  const names = await page.$$eval('#convs li .name', (l) => l.map((e) => e.textContent));
  check('Rename and Delete in the side list', renamed === 'Renamed story' && names.length === before &&
    !names.includes('Renamed story'), JSON.stringify({ renamed, names }));

  // Settings reach the request: system prompt first, sampling fields as numbers.
  await page.click('#settings-btn');
  await page.$eval('#settings-form', (f) => {
    f.elements.system.value = 'You are terse.';
    f.elements.temperature.value = '0';
    f.elements.max_tokens.value = '5';
    f.elements.seed.value = '42';
  });
  await page.click('#settings-form button[value="save"]');
  let sent = null;
  const spy = (req) => { if (req.url().endsWith('/v1/chat/completions')) sent = JSON.parse(req.postData()); };
  page.on('request', spy);
  const a = await ask(page, 'Once upon a time');
  page.off('request', spy);
  check('settings go into the request (system prompt, temperature, max tokens, seed)', sent &&
    sent.messages[0].role === 'system' && sent.messages[0].content === 'You are terse.' && sent.temperature === 0 &&
    sent.max_tokens === 5 && sent.seed === 42 && sent.stream === true && /^5 tokens/.test(a.stats),
  JSON.stringify({ sent, a }));
}

async function keyMode(browser) {
  const { page, errors } = await openPage(browser, {
    before: (p) => p.evaluateOnNewDocument(() => {
      if (!sessionStorage.getItem('seeded')) {
        localStorage.setItem('llamafile.apikey', 'wrong-key');
        sessionStorage.setItem('seeded', '1');
      }
    }),
  });
  const open = await page.waitForSelector('#keydlg[open]', { timeout: 5000 }).then(() => true, () => false);
  check('a wrong API key shows the key prompt (page served under --api-key)', open, 'no key dialog');
  if (!open) return page.close();
  await page.$eval('#key-input', (i) => { i.value = ''; });
  await page.type('#key-input', KEY);
  await page.click('#keydlg button[value="save"]');
  await page.waitForFunction(() => /ctx/.test(document.getElementById('model-info').textContent), { timeout: 5000 })
    .catch(() => {});
  const a = await ask(page, 'Hello');
  check('with the right key the page answers (sent as Authorization: Bearer)', a.text.length > 0 && !a.error, JSON.stringify(a));
  const only401 = errors.every((e) => /401/.test(e));
  check('the only console errors are the refused 401s', only401, errors.join(' | '));
  await page.close();
}

async function smokeMode(browser) {
  const { page, errors, offsite } = await openPage(browser);
  const a = await ask(page, 'Hi');
  check('second model: the page loads and answers', a.text.length > 0 && !a.error && errors.length === 0 &&
    offsite.length === 0, JSON.stringify(a) + ' ' + errors.join(' | '));
  await page.close();
}

(async () => {
  const browser = await puppeteer.launch({
    executablePath: CHROME, headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-dev-shm-usage',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  try {
    if (mode === 'main') await mainMode(browser);
    else if (mode === 'key') await keyMode(browser);
    else await smokeMode(browser);
  } catch (e) {
    fail(mode + ' run', String(e && e.stack || e).split('\n').slice(0, 3).join(' '));
  } finally {
    await browser.close();
  }
  process.exit(failed ? 1 : 0);
})();
