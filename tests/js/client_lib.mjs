// client_lib.mjs — what the client test scripts share: PASS/FAIL lines as
// tests/lib.sh prints them, and the official clients from JS_DIR's
// node_modules (`openai` pointed at BASE_URL / API_KEY; `@anthropic-ai/sdk`).
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';

export const requireFromJsDir = createRequire(path.join(process.env.JS_DIR, 'package.json'));

// label prefixes every line. done() exits with the status the checks earned.
export function harness(label) {
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
  return { pass, fail, check, done: () => process.exit(failed ? 1 : 0) };
}

// The harness with the openai client; timeout is per request (ms).
export function clientHarness(label, timeout) {
  const OpenAI = requireFromJsDir('openai');
  const client = new OpenAI({ baseURL: process.env.BASE_URL, apiKey: process.env.API_KEY,
                              maxRetries: 0, timeout });
  return { OpenAI, client, ...harness(label) };
}

// true, or why text does not validate against schema
export function validates(schema, text) {
  try {
    execFileSync(process.env.PY || 'python3', ['-c', `
import json, sys
from jsonschema import Draft202012Validator
errs = [e.message for e in Draft202012Validator(json.loads(sys.argv[1])).iter_errors(json.loads(sys.argv[2]))]
if errs: sys.exit(errs[0])
`, JSON.stringify(schema), text], { stdio: ['ignore', 'ignore', 'pipe'] });
    return true;
  } catch (e) {
    return `${JSON.stringify(text).slice(0, 200)}: ${String(e.stderr).trim().split('\n').pop()}`;
  }
}
