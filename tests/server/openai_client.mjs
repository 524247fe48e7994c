// openai_client.mjs — the official `openai` npm client (tests/js/node_modules)
// against a running llamafile --server: models, chat (streamed and not),
// completions, embeddings, and the server's 401 and 400 surfaced as the
// client's own error classes. Prints PASS/FAIL lines as tests/lib.sh does.
// Environment: BASE_URL (…/v1), API_KEY, JS_DIR (the folder with node_modules).
import { clientHarness } from '../js/client_lib.mjs';

const { OpenAI, client, pass, fail, check, done } = clientHarness('openai client', 30000);
const chat = { model: 'any', messages: [{ role: 'user', content: 'Tell me a story' }],
               max_tokens: 10, temperature: 0 };
let text = null;

await check('models.list', async () => {
  const page = await client.models.list();
  return page.data.length === 1 && page.data[0].object === 'model' || JSON.stringify(page.data);
});
await check('chat.completions.create', async () => {
  const r = await client.chat.completions.create(chat);
  text = r.choices[0].message.content;
  return (r.object === 'chat.completion' && typeof text === 'string' && text.length > 0 &&
          r.usage.completion_tokens === 10 && r.choices[0].finish_reason === 'length') ||
         JSON.stringify(r);
});
await check('chat.completions.create stream', async () => {
  const stream = await client.chat.completions.create({ ...chat, stream: true,
                                                        stream_options: { include_usage: true } });
  let s = '', usage = null, n = 0;
  for await (const chunk of stream) {
    n++;
    if (chunk.choices.length) s += chunk.choices[0].delta.content ?? '';
    if (chunk.usage) usage = chunk.usage;
  }
  return (s === text && usage?.completion_tokens === 10 && n > 2) ||
         `${n} chunks, "${s}" vs "${text}", usage ${JSON.stringify(usage)}`;
});
await check('chat logprobs', async () => {
  const r = await client.chat.completions.create({ ...chat, logprobs: true, top_logprobs: 2 });
  const c = r.choices[0].logprobs.content;
  return (c.length === 10 && c.map((t) => t.token).join('') === r.choices[0].message.content &&
          c.every((t) => t.top_logprobs.length === 2)) || JSON.stringify(r.choices[0].logprobs);
});
await check('completions.create', async () => {
  const r = await client.completions.create({ model: 'any', prompt: 'Once upon a time',
                                              max_tokens: 3, temperature: 0 });
  return r.choices[0].text === ', there was' || JSON.stringify(r);
});
await check('completions.create stream', async () => {
  const stream = await client.completions.create({ model: 'any', prompt: 'Once upon a time',
                                                   max_tokens: 3, temperature: 0, stream: true });
  let s = '';
  for await (const chunk of stream) s += chunk.choices[0]?.text ?? '';
  return s === ', there was' || s;
});
await check('embeddings.create (base64, the client default) equals float', async () => {
  const a = await client.embeddings.create({ model: 'any', input: 'Once upon a time' });
  const b = await client.embeddings.create({ model: 'any', input: 'Once upon a time',
                                             encoding_format: 'float' });
  const va = Array.from(a.data[0].embedding), vb = b.data[0].embedding;
  const norm = Math.sqrt(va.reduce((s, x) => s + x * x, 0));
  const same = va.length === vb.length && va.every((x, i) => Math.abs(x - vb[i]) < 1e-6);
  return (va.length > 0 && same && Math.abs(norm - 1) < 1e-4 && a.usage.prompt_tokens === 5) ||
         `len ${va.length}/${vb.length}, norm ${norm}, same ${same}`;
});
await check('wrong key: AuthenticationError (401)', async () => {
  const bad = new OpenAI({ baseURL: process.env.BASE_URL, apiKey: 'wrong', maxRetries: 0 });
  try {
    await bad.chat.completions.create(chat);
    return 'no error';
  } catch (e) {
    return (e instanceof OpenAI.AuthenticationError && e.status === 401) ||
           `${e.constructor?.name} ${e.status}`;
  }
});
await check('bad request: BadRequestError (400) with the message', async () => {
  try {
    await client.chat.completions.create({ ...chat, temperature: 'hot' });
    return 'no error';
  } catch (e) {
    return (e instanceof OpenAI.BadRequestError && e.status === 400 &&
            /temperature/.test(e.message)) || `${e.constructor?.name} ${e.status} ${e.message}`;
  }
});
done();
