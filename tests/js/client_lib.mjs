// client_lib.mjs — what the openai-client test scripts share: the official
// `openai` client from JS_DIR's node_modules pointed at BASE_URL / API_KEY,
// and PASS/FAIL lines as tests/lib.sh prints them.
import { createRequire } from 'node:module';
import path from 'node:path';

// label prefixes every line; timeout is per request (ms). done() exits with
// the status the checks earned.
export function clientHarness(label, timeout) {
  const require = createRequire(path.join(process.env.JS_DIR, 'package.json'));
  const OpenAI = require('openai');
  const client = new OpenAI({ baseURL: process.env.BASE_URL, apiKey: process.env.API_KEY,
                              maxRetries: 0, timeout });
  let failed = 0;
  const pass = (name) => console.log(`PASS ${label}: ${name}`);
  const fail = (name, why) => { failed++; console.log(`FAIL ${label}: ${name}: ${why}`); };
  // fn returns true, or why the check failed; a throw is a failure too
  async function check(name, fn) {
    try {
      const why = await fn();
      if (why === true) pass(name); else fail(name, String(why));
    } catch (e) {
      fail(name, `${e.constructor?.name}: ${e.message}`);
    }
  }
  return { OpenAI, client, pass, fail, check, done: () => process.exit(failed ? 1 : 0) };
}
