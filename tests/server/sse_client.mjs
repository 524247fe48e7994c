// sse_client.mjs — concurrent streaming clients for an OpenAI-compatible
// /v1/completions endpoint (ours or llama-server); Node's own http module,
// no npm packages. Used by tests/server/test_server_load.sh (load and
// correctness) and bench/server_bench.sh (throughput, time to first token).
//
//   node sse_client.mjs --url URL --prompts FILE [--clients N]
//        [--seconds S | --requests R] [--max-tokens M] [--ignore-eos]
//        [--expect FILE] [--extra FILE] [--timeout S]
//
// FILE: a JSON array of prompts, or of {prompt, max_tokens}. Client i sends
// prompts i, i+1, ... (modulo their number) one after the other, until S
// seconds have passed or it sent R requests. A 503 must carry Retry-After;
// the client then waits that long and goes on. --expect FILE: a JSON array,
// the text each prompt must stream (what it gives alone at temperature 0).
// Prints one JSON object: counts by outcome, generated tokens (from
// usage.completion_tokens), tokens/s over the wall time, time to first
// token, and up to 5 examples of each problem. --extra FILE: a JSON object
// merged into every request body. --timeout S: a request whose socket is
// idle that long is lost (60).
import http from 'node:http';
import fs from 'node:fs';

const args = { clients: 1, seconds: 0, requests: 0, 'max-tokens': 32 };
for (let i = 2; i < process.argv.length; i++) {
  const k = process.argv[i].replace(/^--/, '');
  if (k === 'ignore-eos') args[k] = true;
  else args[k] = process.argv[++i];
}
if (!args.url || !args.prompts || (!+args.seconds && !+args.requests)) {
  console.error('usage: sse_client.mjs --url URL --prompts FILE [--clients N] ' +
                '(--seconds S | --requests R) [--max-tokens M] [--ignore-eos] [--expect FILE] [--extra FILE]');
  process.exit(2);
}
const prompts = JSON.parse(fs.readFileSync(args.prompts, 'utf8'))
  .map(p => (typeof p === 'string' ? { prompt: p } : p));
const expect = args.expect ? JSON.parse(fs.readFileSync(args.expect, 'utf8')) : null;
const extra = args.extra ? JSON.parse(fs.readFileSync(args.extra, 'utf8')) : {};
const nClients = Math.min(Math.max(+args.clients, 1), 256);
const seconds = Math.min(+args.seconds || 0, 600);
const maxRequests = Math.min(+args.requests || 0, 100000);
const REQUEST_TIMEOUT_MS = Math.min(+args.timeout || 60, 3600) * 1000;  // idle socket
const url = new URL('/v1/completions', args.url);

const res = {
  requests: 0, ok: 0, status_503: 0, no_retry_after: 0, other_status: 0,
  mismatch: 0, lost: 0, completion_tokens: 0, wall_s: 0, tokens_per_s: 0,
  ttft_ms: null, problems: [],
};
const ttfts = [];
const problem = (what) => { if (res.problems.length < 5) res.problems.push(what); };

// One streaming request: resolves {status, retryAfter, text, tokens, ttft,
// done, ids} — done when the stream ended with a finish_reason and [DONE].
function stream(p) {
  const body = JSON.stringify({
    prompt: p.prompt, max_tokens: p.max_tokens ?? +args['max-tokens'], temperature: 0,
    stream: true, stream_options: { include_usage: true },
    ...(args['ignore-eos'] ? { ignore_eos: true } : {}), ...extra,
  });
  return new Promise((resolve) => {
    const t0 = performance.now();
    const out = { status: 0, retryAfter: null, text: '', tokens: 0, ttft: null, done: false,
                  finished: false, ids: new Set(), error: null };
    const req = http.request(url, {
      method: 'POST', agent: false, timeout: REQUEST_TIMEOUT_MS,
      headers: { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) },
    }, (r) => {
      out.status = r.statusCode;
      out.retryAfter = r.headers['retry-after'] ?? null;
      r.setEncoding('utf8');
      let buf = '';
      r.on('data', (d) => {
        buf += d;
        let nl;
        while ((nl = buf.indexOf('\n')) >= 0) {
          const line = buf.slice(0, nl).replace(/\r$/, '');
          buf = buf.slice(nl + 1);
          if (!line.startsWith('data: ') || out.status !== 200) continue;
          const data = line.slice(6);
          if (data === '[DONE]') { out.done = true; continue; }
          let j;
          try { j = JSON.parse(data); } catch { out.error = 'bad JSON chunk'; continue; }
          if (j.error) { out.error = JSON.stringify(j.error); continue; }
          if (j.id) out.ids.add(j.id);
          const c = j.choices?.[0];
          if (c?.text) {
            if (out.ttft === null) out.ttft = performance.now() - t0;
            out.text += c.text;
          }
          if (c?.finish_reason) out.finished = true;
          if (j.usage) out.tokens = j.usage.completion_tokens;
        }
      });
      r.on('end', () => resolve(out));
      r.on('error', (e) => { out.error = String(e); resolve(out); });
    });
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', (e) => { out.error = String(e); resolve(out); });
    req.end(body);
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const t0 = performance.now();
const deadline = t0 + seconds * 1000;

async function client(i) {
  for (let n = 0; ; n++) {
    if (maxRequests ? n >= maxRequests : performance.now() >= deadline) return;
    const k = (i + n) % prompts.length;
    res.requests++;
    const r = await stream(prompts[k]);
    if (r.status === 503) {
      res.status_503++;
      const ra = Number(r.retryAfter);
      if (r.retryAfter === null || !(ra >= 0)) { res.no_retry_after++; problem(`503 without Retry-After`); }
      await sleep(Math.min(Number.isFinite(ra) ? ra : 1, 5) * 1000);
    } else if (r.status !== 200) {
      res.other_status++;
      problem(`status ${r.status || r.error}`);
    } else if (!r.done || !r.finished || r.error || r.ids.size > 1) {
      res.lost++;
      problem(`prompt ${k}: stream ${r.error || (r.ids.size > 1 ? 'mixed ids' : 'ended early')}`);
    } else if (expect && r.text !== expect[k]) {
      res.mismatch++;
      const want = String(expect[k]);
      let d = 0;
      while (d < r.text.length && r.text[d] === want[d]) d++;
      const at = Math.max(0, d - 20);
      problem(`prompt ${k}: from byte ${d} got ${JSON.stringify(r.text.slice(at, d + 40))}, ` +
              `want ${JSON.stringify(want.slice(at, d + 40))}`);
    } else {
      res.ok++;
      res.completion_tokens += r.tokens;
      if (r.ttft !== null) ttfts.push(r.ttft);
    }
  }
}

await Promise.all(Array.from({ length: nClients }, (_, i) => client(i)));
res.wall_s = +((performance.now() - t0) / 1000).toFixed(3);
res.tokens_per_s = +(res.completion_tokens / res.wall_s).toFixed(2);
if (ttfts.length) {
  ttfts.sort((a, b) => a - b);
  const q = (f) => +ttfts[Math.min(ttfts.length - 1, Math.floor(f * ttfts.length))].toFixed(1);
  res.ttft_ms = { mean: +(ttfts.reduce((a, b) => a + b, 0) / ttfts.length).toFixed(1),
                  p50: q(0.5), p90: q(0.9), max: q(1) };
}
console.log(JSON.stringify(res));
