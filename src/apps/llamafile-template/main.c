/* llamafile-template — renders a chat request with a chat template, as
 * transformers' apply_chat_template would, and prints the prompt. */
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "llamafile.h"

static const char k_usage[] =
    "usage: llamafile-template (-m MODEL | --template FILE.jinja) [options] REQUEST.json\n"
    "\n"
    "Renders a chat request with a chat template, exactly as Hugging Face\n"
    "transformers' apply_chat_template does, and prints the prompt to standard\n"
    "output byte for byte (no newline is added).\n"
    "\n"
    "REQUEST.json (- for standard input) is a JSON object: \"messages\" (an array\n"
    "of OpenAI-style messages), \"tools\" (an array, or null: none), and\n"
    "\"add_generation_prompt\" (true unless given); every other key is passed to\n"
    "the template as a variable (enable_thinking, reasoning_effort, ...).\n"
    "\n"
    "  -m, --model MODEL     use the model's template (tokenizer.chat_template,\n"
    "                        or its tool_use variant when tools are given) and its\n"
    "                        BOS/EOS token texts; a GGUF or a llamafile. A model\n"
    "                        without a template gets a plain ChatML fallback\n"
    "  --harmony             with -m on a harmony model (gpt-oss): render the way\n"
    "                        the chat layer does, with the harmony renderer,\n"
    "                        instead of the model's Jinja template\n"
    "  --template FILE       use the Jinja template in FILE (bos/eos: \"\")\n"
    "  --bos TEXT            the bos_token variable\n"
    "  --eos TEXT            the eos_token variable\n"
    "  --now TIME            strftime_now's time, YYYY-MM-DDTHH:MM:SS local time\n"
    "                        (default: the clock)\n"
    "  -v, --verbose         say on standard error which template was used\n"
    "  --version             print the version and exit\n"
    "  -h, --help            this help\n"
    "\n"
    "Exit status: 0 on success, 1 if the request, the model or the template\n"
    "cannot be read or the template fails (its message on standard error;\n"
    "raise_exception's message exactly), 2 on bad usage.\n";

static int die(int rc, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int die(int rc, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "llamafile-template: ");
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return rc;
}

static int finish(int rc) {
    lf_error err;
    if (lf_stdout_close(&err))
        return rc;
    return die(1, "%s", err.msg);
}

/* YYYY-MM-DDTHH:MM:SS (or YYYY-MM-DD) as local time. */
static bool parse_now(const char *s, int64_t *out) {
    struct tm tm = {0};
    int n = 0;
    if (sscanf(s, "%4d-%2d-%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &n) != 3 || n != 10)
        return false;
    if (s[n] && (sscanf(s + n, "T%2d:%2d:%2d%n", &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &n) != 3 ||
                 n != 9 || s[19]))
        return false;
    if (tm.tm_mon < 1 || tm.tm_mon > 12 || tm.tm_mday < 1 || tm.tm_mday > 31 ||
        tm.tm_hour > 23 || tm.tm_min > 59 || tm.tm_sec > 60)
        return false;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    tm.tm_isdst = -1;
    time_t t = mktime(&tm);
    if (t == (time_t)-1)
        return false;
    *out = (int64_t)t;
    return true;
}

typedef struct request {
    char *messages, *tools, *kwargs;
    bool add_generation_prompt;
} request;

static void request_free(request *r) {
    free(r->messages);
    free(r->tools);
    free(r->kwargs);
}

/* Splits the request object into the chat API's JSON texts. */
static bool read_request(const char *path, request *r, lf_error *err) {
    memset(r, 0, sizeof *r);
    r->add_generation_prompt = true;
    size_t len;
    char *text = lf_read_text(strcmp(path, "-") ? path : NULL, LF_TEXT_MAX, &len, err);
    if (!text)
        return false;
    json_error_t je;
    json_t *root = json_loadb(text, len, 0, &je);
    free(text);
    if (!root) {
        for (char *c = je.text; *c; c++) /* it may quote the input: keep one line */
            if ((unsigned char)*c < 0x20)
                *c = ' ';
        snprintf(err->msg, sizeof err->msg, "%s: invalid JSON at line %d, column %d: %s", path,
                 je.line, je.column, je.text);
        return false;
    }
    if (!json_is_object(root)) {
        snprintf(err->msg, sizeof err->msg, "%s: expected a JSON object", path);
        json_decref(root);
        return false;
    }
    json_t *kwargs = json_object();
    const char *key;
    json_t *v;
    bool ok = kwargs != NULL;
    if (!ok)
        snprintf(err->msg, sizeof err->msg, "out of memory");
    json_object_foreach(root, key, v) {
        if (!ok)
            break;
        if (!strcmp(key, "messages")) {
            ok = (r->messages = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY)) != NULL;
        } else if (!strcmp(key, "tools")) {
            ok = (r->tools = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY)) != NULL;
        } else if (!strcmp(key, "add_generation_prompt")) {
            if (!json_is_boolean(v)) {
                snprintf(err->msg, sizeof err->msg, "%s: add_generation_prompt: expected true or false", path);
                json_decref(kwargs);
                json_decref(root);
                return false;
            }
            r->add_generation_prompt = json_is_true(v);
        } else {
            ok = !json_object_set(kwargs, key, v);
        }
        if (!ok)
            snprintf(err->msg, sizeof err->msg, "out of memory");
    }
    if (ok && !(r->kwargs = json_dumps(kwargs, JSON_COMPACT))) {
        ok = false;
        snprintf(err->msg, sizeof err->msg, "out of memory");
    }
    json_decref(kwargs);
    json_decref(root);
    if (ok && !r->messages) {
        snprintf(err->msg, sizeof err->msg, "%s: no \"messages\"", path);
        ok = false;
    }
    if (!ok)
        request_free(r);
    return ok;
}

int main(int argc, char **argv) {
    const char *model = NULL, *tmpl = NULL, *bos = NULL, *eos = NULL, *now = NULL,
               *path = NULL;
    bool verbose = false, harmony = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            fputs(k_usage, stdout);
            return finish(0);
        } else if (!strcmp(a, "--version")) {
            puts("llamafile-template " LF_VERSION_STRING);
            return finish(0);
        } else if (!strcmp(a, "-v") || !strcmp(a, "--verbose")) {
            verbose = true;
        } else if (!strcmp(a, "--harmony")) {
            harmony = true;
        } else if (i + 1 < argc && (!strcmp(a, "-m") || !strcmp(a, "--model"))) {
            model = argv[++i];
        } else if (i + 1 < argc && !strcmp(a, "--template")) {
            tmpl = argv[++i];
        } else if (i + 1 < argc && !strcmp(a, "--bos")) {
            bos = argv[++i];
        } else if (i + 1 < argc && !strcmp(a, "--eos")) {
            eos = argv[++i];
        } else if (i + 1 < argc && !strcmp(a, "--now")) {
            now = argv[++i];
        } else if ((a[0] != '-' || !strcmp(a, "-")) && !path) {
            path = a;
        } else {
            return die(2, "unknown option, missing value or extra argument: '%s' (see --help)", a);
        }
    }
    if (!!model + !!tmpl != 1)
        return die(2, "give exactly one of -m MODEL or --template FILE (see --help)");
    if (!path)
        return die(2, "no request given: REQUEST.json (see --help)");
    lf_chat_params p = {.bos_token = bos, .eos_token = eos};
    if (now && !(p.pin_now = parse_now(now, &p.now)))
        return die(2, "--now: expected YYYY-MM-DDTHH:MM:SS, got '%s'", now);

    lf_error err;
    request r;
    if (!read_request(path, &r, &err))
        return die(1, "%s", err.msg);
    p.tools = r.tools;
    p.kwargs = r.kwargs;
    p.add_generation_prompt = r.add_generation_prompt;
    int rc = 1;
    lf_model *m = NULL;
    lf_chat_template *own = NULL;
    char *out = NULL;
    size_t len = 0;
    bool raised = false;
    const lf_chat_template *used = NULL;
    lf_chat_messages *ms = lf_chat_messages_from_json(r.messages, strlen(r.messages), &err);
    if (!ms)
        goto done;
    if (model) {
        if (!(m = lf_model_load_vocab(model, &err)))
            goto done;
        if (harmony || !lf_chat_is_harmony(m)) {
            out = lf_chat_apply_model(m, ms, &p, &len, &raised, &used, &err);
        } else { /* a template tool: the GGUF's template even for gpt-oss */
            bool tools = p.tools && strcmp(p.tools, "null") && strcmp(p.tools, "[]");
            if ((used = lf_chat_template_for_request(m, tools, &err)))
                out = lf_chat_apply(used, ms, &p, &len, &raised, &err);
        }
    } else {
        size_t n;
        char *text = lf_read_text(tmpl, LF_TEXT_MAX, &n, &err);
        if (!text)
            goto done;
        own = lf_chat_template_new(text, n, NULL, NULL, &err);
        free(text);
        if (!(used = own))
            goto done;
        out = lf_chat_apply(own, ms, &p, &len, &raised, &err);
    }
    if (verbose && model && !used && out)
        fputs("llamafile-template: rendered with harmony (the model speaks it)\n", stderr);
    if (verbose && used)
        fprintf(stderr, "llamafile-template: template: %s%s\n", lf_chat_template_origin(used),
                lf_chat_template_is_fallback(used) ? " (the model has no chat template)" : "");
    if (out) {
        fwrite(out, 1, len, stdout);
        rc = 0;
    }
done:
    if (rc && raised)
        fprintf(stderr, "%s\n", err.msg); /* the template's own words, exactly */
    else if (rc)
        die(1, "%s", err.msg);
    free(out);
    lf_chat_template_free(own);
    lf_model_free(m);
    lf_chat_messages_free(ms);
    request_free(&r);
    return finish(rc);
}
