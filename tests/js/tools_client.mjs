// tools_client.mjs — constrained output and tool calls through the official
// `openai` npm client against a running llamafile --server whose model is
// random-weight (garbage unless a grammar holds it): response_format
// json_schema gives an object that validates, tool_choice "required" a call
// whose arguments validate against the tool's parameters, a full round trip
// (call -> tool result -> answer) works, and a streamed call, its arguments in
// several chunks, reassembles into the non-streamed one (same seed).
// Validation is python3-jsonschema's.
// Prints PASS/FAIL lines as tests/lib.sh does.
// Environment: BASE_URL (…/v1), API_KEY, JS_DIR (the folder with node_modules), PY.
import { clientHarness, validates } from './client_lib.mjs';

const { OpenAI, client, pass, fail, check, done } = clientHarness('tools client', 60000);

const weather = { type: 'object', additionalProperties: false, required: ['city', 'days'],
                  properties: { city: { type: 'string', minLength: 1, maxLength: 16 },
                                days: { type: 'integer', minimum: 1, maximum: 7 },
                                unit: { enum: ['c', 'f'] } } };
const tools = [{ type: 'function', function: { name: 'get_weather', description: 'Weather',
                                               parameters: weather } }];
const user = { role: 'user', content: 'What is the weather in Paris?' };
const base = { model: 'any', max_tokens: 300, temperature: 0, seed: 42 };

await check('response_format json_schema: an object that validates', async () => {
  const schema = { type: 'object', additionalProperties: false, required: ['title', 'year'],
                   properties: { title: { type: 'string', maxLength: 20 },
                                 year: { type: 'integer', minimum: 1900, maximum: 2100 },
                                 genres: { type: 'array', items: { enum: ['a', 'b'] },
                                           maxItems: 2 } } };
  const r = await client.chat.completions.create({
    ...base, messages: [{ role: 'user', content: 'A film as JSON' }],
    response_format: { type: 'json_schema',
                       json_schema: { name: 'film', strict: true, schema } } });
  return validates(schema, r.choices[0].message.content);
});

let call = null;
await check('tool_choice required: a call whose arguments validate', async () => {
  const r = await client.chat.completions.create({ ...base, messages: [user], tools,
                                                  tool_choice: 'required',
                                                  parallel_tool_calls: false });
  const c = r.choices[0];
  const tc = c.message.tool_calls?.[0];
  if (c.finish_reason !== 'tool_calls' || c.message.tool_calls.length !== 1 ||
      tc.type !== 'function' || tc.function.name !== 'get_weather' || !/^call_/.test(tc.id) ||
      c.message.content !== null)
    return JSON.stringify(c);
  call = tc;
  return validates(weather, tc.function.arguments);
});

await check('streamed tool call: arguments in several chunks, reassembles into the same call', async () => {
  const stream = await client.chat.completions.create({ ...base, messages: [user], tools,
                                                       tool_choice: 'required',
                                                       parallel_tool_calls: false,
                                                       stream: true });
  const calls = [];
  let finish = null, first = null, pieces = 0;
  for await (const chunk of stream) {
    const ch = chunk.choices[0];
    if (!ch) continue;
    if (ch.finish_reason) finish = ch.finish_reason;
    for (const d of ch.delta?.tool_calls ?? []) {
      if (!calls[d.index]) {
        first = first ?? d;
        calls[d.index] = { id: d.id, type: d.type, function: { name: d.function.name,
                                                               arguments: '' } };
      } else if (d.function?.arguments) {
        pieces++;
      }
      calls[d.index].function.arguments += d.function?.arguments ?? '';
    }
  }
  if (!first || first.id === undefined || first.function.name === undefined ||
      first.function.arguments !== '' || first.type !== 'function')
    return `first delta ${JSON.stringify(first)}`;
  if (pieces < 2)
    return `the arguments came in ${pieces} chunk(s), not as they were generated`;
  return (finish === 'tool_calls' && calls.length === 1 &&
          JSON.stringify(calls[0]) === JSON.stringify(call)) ||
         `${finish} ${JSON.stringify(calls)} vs ${JSON.stringify(call)}`;
});

await check('round trip: call -> tool result -> answer', async () => {
  if (!call) return 'no call from the earlier check';
  const messages = [user, { role: 'assistant', content: null, tool_calls: [call] },
                    { role: 'tool', tool_call_id: call.id, content: '{"temp_c": 21}' }];
  const r = await client.chat.completions.create({ ...base, max_tokens: 8, messages, tools });
  const c = r.choices[0];
  return (typeof c.message.content === 'string' && c.message.content.length > 0 &&
          !c.message.tool_calls && c.finish_reason === 'length' &&
          r.usage.prompt_tokens > 0) || JSON.stringify(r);
});

await check('tool_choice naming a missing function: BadRequestError', async () => {
  try {
    await client.chat.completions.create({ ...base, messages: [user], tools,
                                           tool_choice: { type: 'function',
                                                          function: { name: 'nope' } } });
    return 'no error';
  } catch (e) {
    return (e instanceof OpenAI.BadRequestError && /nope/.test(e.message)) ||
           `${e.constructor?.name}: ${e.message}`;
  }
});

done();
