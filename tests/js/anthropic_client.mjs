// anthropic_client.mjs — tool use through the official `@anthropic-ai/sdk`
// client against a running llamafile --server whose model is random-weight
// (garbage unless a grammar holds it): tool_choice "any" gives one tool_use
// block whose input validates against the tool's input_schema; the SDK's
// stream helper assembles the same call from several input_json_delta
// events; a round trip (tool_use -> tool_result -> answer) works and
// countTokens counts its prompt as the answer's usage does; a tool_choice
// naming a missing tool is a BadRequestError. Validation is
// python3-jsonschema's. Prints PASS/FAIL lines as tests/lib.sh does.
// Environment: ANTHROPIC_URL (the server's root), JS_DIR, PY.
import { harness, requireFromJsDir, validates } from './client_lib.mjs';

const sdk = requireFromJsDir('@anthropic-ai/sdk');
const Anthropic = sdk.Anthropic ?? sdk.default ?? sdk;
const client = new Anthropic({ baseURL: process.env.ANTHROPIC_URL, apiKey: 'none',
                               maxRetries: 0, timeout: 60000 });
const { check, done } = harness('anthropic client');

const weather = { type: 'object', additionalProperties: false, required: ['city', 'days'],
                  properties: { city: { type: 'string', minLength: 1, maxLength: 16 },
                                days: { type: 'integer', minimum: 1, maximum: 7 } } };
const tools = [{ name: 'get_weather', description: 'Weather', input_schema: weather }];
const user = { role: 'user', content: 'What is the weather in Paris?' };
const ask = { model: 'any', max_tokens: 300, temperature: 0, messages: [user], tools,
              tool_choice: { type: 'any', disable_parallel_tool_use: true } };

let answer = null;
await check('tool_choice any: one tool_use block whose input validates', async () => {
  const r = await client.messages.create(ask);
  const b = r.content[0];
  if (r.stop_reason !== 'tool_use' || r.content.length !== 1 || b.type !== 'tool_use' ||
      b.name !== 'get_weather' || typeof b.id !== 'string')
    return JSON.stringify(r);
  answer = r;
  return validates(weather, JSON.stringify(b.input));
});

await check('streamed: the SDK assembles the same call from several input_json_delta events', async () => {
  let pieces = 0;
  const stream = client.messages.stream(ask).on('inputJson', () => pieces++);
  const m = await stream.finalMessage();
  if (pieces < 2)
    return `the input came in ${pieces} event(s), not as it was generated`;
  const b = m.content[0];
  return (m.stop_reason === 'tool_use' && m.content.length === 1 && b?.type === 'tool_use' &&
          answer && JSON.stringify(b.input) === JSON.stringify(answer.content[0].input)) ||
         `${JSON.stringify(m)} vs ${JSON.stringify(answer)}`;
});

await check('round trip: tool_use -> tool_result -> answer; countTokens agrees', async () => {
  if (!answer) return 'no call from the earlier check';
  const messages = [user, { role: 'assistant', content: answer.content },
                    { role: 'user', content: [{ type: 'tool_result', tool_use_id: answer.content[0].id,
                                                content: '{"temp_c": 21}' }] }];
  const r = await client.messages.create({ model: 'any', max_tokens: 8, temperature: 0, messages, tools });
  const c = await client.messages.countTokens({ model: 'any', messages, tools });
  return (r.content.length === 1 && r.content[0].type === 'text' && r.content[0].text.length > 0 &&
          r.stop_reason === 'max_tokens' && c.input_tokens === r.usage.input_tokens) ||
         `${JSON.stringify(r)} ${JSON.stringify(c)}`;
});

await check('tool_choice naming a missing tool: BadRequestError', async () => {
  try {
    await client.messages.create({ ...ask, tool_choice: { type: 'tool', name: 'nope' } });
    return 'no error';
  } catch (e) {
    return (e instanceof Anthropic.BadRequestError && /nope/.test(e.message)) ||
           `${e.constructor?.name}: ${e.message}`;
  }
});

done();
