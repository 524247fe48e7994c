/* args.c — the llamafile command line (flags spelled as llama.cpp's). */
#include "cli.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char k_help[] =
    "usage: llamafile [options] [-m MODEL] [-p PROMPT | -f FILE]\n"
    "\n"
    "Runs a GGUF language model on the CPU and prints the prompt and its\n"
    "continuation on stdout (diagnostics go to stderr).\n"
    "\n"
    "model and prompt:\n"
    "  -m,  --model FILE          model: a GGUF file, a llamafile or zip holding one\n"
    "                             .gguf, ARCHIVE@MEMBER, or /zip/NAME inside this\n"
    "                             executable (default: the .gguf inside it)\n"
    "  -p,  --prompt TEXT         prompt to start generation with\n"
    "  -f,  --file FILE           read the prompt from FILE (a file or a pipe, up to\n"
    "                             256 MiB of text without NUL bytes)\n"
    "  -e,  --escape              process \\n \\r \\t \\' \\\" \\\\ in the prompt (default)\n"
    "       --no-escape           take the prompt literally\n"
    "       --no-display-prompt   do not print the prompt before the generated text\n"
    "\n"
    "generation:\n"
    "  -n,  --n-predict N         tokens to generate (default: -1, until end of text\n"
    "                             or a full context; -2: the same)\n"
    "       --ignore-eos          keep generating past end-of-text tokens\n"
    "  -c,  --ctx-size N          context size in tokens, up to 16777216 (default:\n"
    "                             the model's training context, at most 4096; 0 = the\n"
    "                             training context; more than it is allowed, with a\n"
    "                             warning)\n"
    "  -b,  --batch-size N        prompt tokens per forward pass (default: 512)\n"
    "  -t,  --threads N           threads, up to 512 (default, or -1 or 0: the number\n"
    "                             of physical cores)\n"
    "  -ctk, --cache-type-k TYPE  KV cache type: f16 (default) or f32\n"
    "  -ctv, --cache-type-v TYPE  the same (keys and values share one type)\n"
    "  -ngl, --gpu-layers, --n-gpu-layers N\n"
    "                             layers to offload to a GPU (accepted; this build runs\n"
    "                             on the CPU)\n"
    "\n"
    "sampling:\n"
    "  -s,  --seed N              random seed, 0 to 4294967295 (default: -1, a random\n"
    "                             seed)\n"
    "       --temp T              temperature; 0 = greedy (default: 0.8)\n"
    "       --top-k N             keep the N most likely tokens; 0 = off (default: 40)\n"
    "       --top-p P             keep the most likely tokens up to probability P;\n"
    "                             1.0 = off (default: 0.95)\n"
    "       --min-p P             drop tokens less likely than P times the most\n"
    "                             likely; 0.0 = off (default: 0.05)\n"
    "       --repeat-penalty X    penalise repeated tokens; 1.0 = off (default: 1.0)\n"
    "       --repeat-last-n N     tokens the penalties look back over; 0 = off,\n"
    "                             -1 = the context size (default: 64)\n"
    "       --presence-penalty X  subtract X from tokens already present (default: 0.0)\n"
    "       --frequency-penalty X subtract X per occurrence (default: 0.0)\n"
    "\n";

static const char k_help_chat[] =
    "chat:\n"
    "  -cnv, --chat               talk with the model in turns (the default with no\n"
    "                             -p, -f or --server when stdin and stdout are a\n"
    "                             terminal); with -p the prompt is the first message.\n"
    "                             From a pipe each line is a message and each answer\n"
    "                             is printed plainly. -c defaults to the training\n"
    "                             context, at most 8192. /help lists the commands\n"
    "  -sys, --system-prompt TEXT the system prompt\n"
    "       --system-prompt-file FILE\n"
    "                             read the system prompt from FILE\n"
    "       --reasoning MODE      a thinking model's reasoning: on (shown, dimmed;\n"
    "                             the default), hide, or off (asks the template not\n"
    "                             to think, where it has enable_thinking)\n"
    "       --no-color            no colours (also NO_COLOR=1; never when stdout is not\n"
    "                             a terminal)\n"
    "\n";

static const char k_help_more[] =
    "constrained output:\n"
    "       --grammar GBNF        only text the GBNF grammar's rule root matches\n"
    "       --grammar-file FILE   the same, the grammar read from FILE\n"
    "   -j, --json-schema SCHEMA  only JSON that validates against the JSON Schema\n"
    "       --json-schema-file FILE\n"
    "                             the same, the schema read from FILE\n"
    "\n"
    "embeddings:\n"
    "       --embedding           print the prompt's embedding (the final hidden\n"
    "                             states after the output norm) instead of generating:\n"
    "                             one line \"embedding N: v1 v2 ...\" per vector\n"
    "       --pooling TYPE        none (a vector per token), mean, cls (first token) or\n"
    "                             last (default: the model's, else none)\n"
    "       --embd-normalize N    -1 none, 0 max-abs to int16, 1 taxicab, 2 euclidean\n"
    "                             (default), >2 p-norm\n"
    "\n"
    "other:\n"
    "  -v,  --verbose             print model details and, at the end, load time and\n"
    "                             prompt and generation speed (tokens per second)\n"
    "       --log-disable         print no diagnostics on stderr (errors still are)\n"
    "  -nr, --no-repack           read the weights from the file mapping for good;\n"
    "                             by default the decodes after the first copy (and\n"
    "                             repack) them into memory, ~100 ms each, for faster\n"
    "                             generation (LLAMAFILE_REPACK=0; =load copies them\n"
    "                             all at load)\n"
    "       --version             print the version and exit\n"
    "  -h,  --help                print this help and exit\n"
    "\n"
    "A .args member inside the executable supplies default arguments: they\n"
    "come first, and the first \"...\" in it is replaced by the arguments\n"
    "given here (without one, these go at the end), so yours win. An error\n"
    "in an argument from .args says \"in .args\".\n"
    "\n"
    "Ctrl-C stops generation: what was generated so far stays printed and the\n"
    "exit status is 130. Exit status 1: bad arguments, a missing or invalid\n"
    "model, output that could not be written, or a failure while running\n"
    "(e.g. the model produced NaN or infinite logits).\n";

/* In two parts, each under stdio's 4 KiB buffer, flushed in between: a
 * write that fails then fails in lf_stdout_flush, which keeps its reason
 * ("No space left on device") for lf_stdout_close. */
void cli_print_help(FILE *f) {
    fputs(k_help, f);
    if (f == stdout)
        lf_stdout_flush();
    fputs(k_help_chat, f);
    if (f == stdout)
        lf_stdout_flush();
    fputs(k_help_more, f);
    if (f == stdout)
        lf_stdout_flush();
    srv_options_help(f);
}

/* "in .args: " while parsing an argument that came from the .args member. */
static const char *g_where = "";

static bool fail(const char *fmt, const char *a, const char *b) {
    fprintf(stderr, "llamafile: %s", g_where);
    fprintf(stderr, fmt, a, b);
    fputc('\n', stderr);
    return false;
}

static bool parse_long(const char *flag, const char *s, long lo, long hi, long *out) {
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi) {
        char range[96];
        snprintf(range, sizeof range, "an integer from %ld to %ld", lo, hi);
        fprintf(stderr, "llamafile: %sinvalid value '%s' for %s (expected %s)\n", g_where, s,
                flag, range);
        return false;
    }
    *out = v;
    return true;
}

static bool parse_float(const char *flag, const char *s, float *out) {
    char *end;
    errno = 0;
    float v = strtof(s, &end);
    if (errno || end == s || *end || !isfinite(v))
        return fail("invalid value '%s' for %s (expected a number)", s, flag);
    *out = v;
    return true;
}

/* A prompt is a C string, so a NUL byte would silently end it: refused. */
static bool read_file(const char *path, char **out) {
    lf_error err;
    size_t len;
    char *buf = lf_read_text(path, LF_TEXT_MAX, &len, &err);
    if (!buf)
        return fail("prompt file %s%s", err.msg, "");
    const char *nul = memchr(buf, 0, len);
    if (nul) {
        char at[32];
        snprintf(at, sizeof at, "%zu", (size_t)(nul - buf));
        free(buf);
        return fail("prompt file %s: a NUL byte at offset %s (a prompt is text)", path, at);
    }
    free(*out);
    *out = buf;
    return true;
}

/* --grammar TEXT or --grammar-file FILE (the last one given wins). */
static bool grammar_flag(cli_options *o, const char *flag, const char *val) {
    char *text;
    if (!strcmp(flag, "--grammar")) {
        text = strdup(val);
        if (!text)
            return fail("out of memory%s%s", "", "");
    } else {
        lf_error err;
        size_t len;
        text = lf_read_text(val, LF_TEXT_MAX, &len, &err);
        if (!text)
            return fail("grammar file %s%s", err.msg, "");
        if (memchr(text, 0, len)) {
            free(text);
            return fail("grammar file %s: a NUL byte (a grammar is text)%s", val, "");
        }
    }
    free(o->grammar);
    o->grammar = text;
    return true;
}

/* -j/--json-schema TEXT or --json-schema-file FILE: the schema becomes the
 * grammar (the last of these and the grammar flags wins). */
static bool json_schema_flag(cli_options *o, bool from_file, const char *val) {
    lf_error err;
    char *text = NULL;
    if (from_file) {
        size_t len;
        text = lf_read_text(val, LF_TEXT_MAX, &len, &err);
        if (!text)
            return fail("JSON schema file %s%s", err.msg, "");
    }
    char *gbnf = lf_json_schema_to_gbnf(text ? text : val, &err);
    free(text);
    if (!gbnf)
        return fail("%s: bad JSON schema: %s", from_file ? val : "--json-schema", err.msg);
    free(o->grammar);
    o->grammar = gbnf;
    return true;
}

/* The escapes llama.cpp's -e understands, in place. */
static void process_escapes(char *s) {
    char *o = s;
    for (char *p = s; *p; p++) {
        if (*p != '\\' || !p[1]) {
            *o++ = *p;
            continue;
        }
        switch (*++p) {
        case 'n': *o++ = '\n'; break;
        case 'r': *o++ = '\r'; break;
        case 't': *o++ = '\t'; break;
        case '\'': *o++ = '\''; break;
        case '"': *o++ = '"'; break;
        case '\\': *o++ = '\\'; break;
        default: *o++ = '\\', *o++ = *p;
        }
    }
    *o = 0;
}

static const char *const k_value_flags[] = {
    "-m", "--model", "-p", "--prompt", "-f", "--file", "-n", "--n-predict", "-c", "--ctx-size",
    "-b", "--batch-size", "-t", "--threads", "-s", "--seed", "--temp", "--top-k", "--top-p",
    "--min-p", "--repeat-penalty", "--repeat-last-n", "--presence-penalty",
    "--frequency-penalty", "-ngl", "--gpu-layers", "--n-gpu-layers", "-ctk", "--cache-type-k",
    "-ctv", "--cache-type-v", "--pooling", "--embd-normalize",
    "-sys", "--system-prompt", "--system-prompt-file", "--reasoning",
};

static bool takes_value(const char *a) {
    for (size_t i = 0; i < sizeof k_value_flags / sizeof *k_value_flags; i++)
        if (!strcmp(a, k_value_flags[i]))
            return true;
    return false;
}

static bool is(const char *a, const char *s1, const char *s2) {
    return !strcmp(a, s1) || (s2 && !strcmp(a, s2));
}

bool cli_parse(int argc, char **argv, int user_first, int user_end, cli_options *o) {
    memset(o, 0, sizeof(*o));
    o->n_predict = -1;
    o->n_ctx = 4096;
    o->n_batch = 512;
    o->escape = true;
    o->display_prompt = true;
    o->kv_type = LF_TYPE_F16;
    o->sampling = lf_sampler_default_params();
    o->pooling = LF_POOLING_TYPE_UNSPECIFIED;
    o->embd_normalize = 2;
    srv_options_init(&o->server);
    long v;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        g_where = i < user_first || i >= user_end ? "in .args: " : "";
        /* flags without a value */
        if (is(a, "-h", "--help")) { o->help = true; continue; }
        if (is(a, "--version", NULL)) { o->version = true; continue; }
        if (is(a, "-e", "--escape")) { o->escape = true; continue; }
        if (is(a, "--no-escape", NULL)) { o->escape = false; continue; }
        if (is(a, "--no-display-prompt", NULL)) { o->display_prompt = false; continue; }
        if (is(a, "--ignore-eos", NULL)) { o->ignore_eos = true; continue; }
        if (is(a, "-v", "--verbose")) { o->verbose = true; continue; }
        if (is(a, "--log-disable", NULL)) { o->quiet = true; continue; }
        if (is(a, "-nr", "--no-repack")) { setenv("LLAMAFILE_REPACK", "0", 1); continue; }
        if (is(a, "--embedding", "--embeddings")) { o->embedding = true; continue; }
        if (is(a, "-cnv", "--chat") || is(a, "--conversation", NULL)) { o->chat = true; continue; }
        if (is(a, "--no-color", NULL)) { o->no_color = true; continue; }
        char why[256];
        int used = srv_options_flag(&o->server, a, i + 1 < argc ? argv[i + 1] : NULL, why,
                                    sizeof why);
        if (used < 0)
            return fail("%s%s", why, "");
        if (used > 0) {
            i += used - 1;
            continue;
        }
        /* ---- grammar flags ---- */
        if (is(a, "--grammar", "--grammar-file")) {
            if (i + 1 >= argc)
                return fail("option %s needs a value%s", a, "");
            if (!grammar_flag(o, a, argv[++i]))
                return false;
            continue;
        }
        /* ---- JSON schema flags ---- */
        if (is(a, "-j", "--json-schema") || !strcmp(a, "--json-schema-file")) {
            if (i + 1 >= argc)
                return fail("option %s needs a value%s", a, "");
            if (!json_schema_flag(o, !strcmp(a, "--json-schema-file"), argv[++i]))
                return false;
            continue;
        }
        /* flags with a value */
        if (!takes_value(a))
            return fail(a[0] == '-' ? "unknown option '%s'%s" : "unexpected argument '%s'%s", a,
                        " (see --help)");
        if (i + 1 >= argc)
            return fail("option %s needs a value%s", a, "");
        const char *val = argv[++i];
        g_where = i < user_first || i >= user_end ? "in .args: " : "";
        if (is(a, "-m", "--model")) o->model = val;
        else if (is(a, "-p", "--prompt")) { free(o->prompt); o->prompt = strdup(val); }
        else if (is(a, "-f", "--file")) { if (!read_file(val, &o->prompt)) return false; }
        else if (is(a, "-n", "--n-predict")) { if (!parse_long(a, val, -2, INT_MAX, &v)) return false; o->n_predict = v < 0 ? -1 : (int)v; }
        else if (is(a, "-c", "--ctx-size")) { if (!parse_long(a, val, 0, 1 << 24, &v)) return false; o->n_ctx = (int)v; o->ctx_given = true; }
        else if (is(a, "-b", "--batch-size")) { if (!parse_long(a, val, 1, 1 << 20, &v)) return false; o->n_batch = (int)v; }
        else if (is(a, "-t", "--threads")) { if (!parse_long(a, val, -1, 512, &v)) return false; o->n_threads = v > 0 ? (int)v : 0; }
        else if (is(a, "-s", "--seed")) { if (!parse_long(a, val, -1, UINT32_MAX, &v)) return false; o->sampling.seed = v < 0 ? UINT64_MAX : (uint64_t)v; }
        else if (is(a, "--temp", NULL)) { if (!parse_float(a, val, &o->sampling.temp)) return false; }
        else if (is(a, "--top-k", NULL)) { if (!parse_long(a, val, INT_MIN, INT_MAX, &v)) return false; o->sampling.top_k = (int)v; }
        else if (is(a, "--top-p", NULL)) { if (!parse_float(a, val, &o->sampling.top_p)) return false; }
        else if (is(a, "--min-p", NULL)) { if (!parse_float(a, val, &o->sampling.min_p)) return false; }
        else if (is(a, "--repeat-penalty", NULL)) { if (!parse_float(a, val, &o->sampling.repeat_penalty)) return false; }
        else if (is(a, "--repeat-last-n", NULL)) { if (!parse_long(a, val, -1, 1 << 24, &v)) return false; o->sampling.penalty_last_n = (int)v; }
        else if (is(a, "--presence-penalty", NULL)) { if (!parse_float(a, val, &o->sampling.presence_penalty)) return false; }
        else if (is(a, "--frequency-penalty", NULL)) { if (!parse_float(a, val, &o->sampling.frequency_penalty)) return false; }
        else if (is(a, "-ngl", "--gpu-layers") || is(a, "--n-gpu-layers", NULL)) { if (!parse_long(a, val, -1, INT_MAX, &v)) return false; o->n_gpu_layers = (int)v; o->ngl_given = true; }
        else if (is(a, "-ctk", "--cache-type-k") || is(a, "-ctv", "--cache-type-v")) {
            int t = lf_type_from_name(val);
            if (t != LF_TYPE_F16 && t != LF_TYPE_F32)
                return fail("invalid value '%s' for %s (expected f16 or f32)", val, a);
            o->kv_type = t;
        }
        else if (is(a, "--pooling", NULL)) {
            static const char *const names[] = {"none", "mean", "cls", "last"};
            o->pooling = -2;
            for (int k = 0; k < 4; k++)
                if (!strcmp(val, names[k]))
                    o->pooling = k;
            if (o->pooling < 0)
                return fail("invalid value '%s' for %s (expected none, mean, cls or last)", val, a);
        }
        else if (is(a, "-sys", "--system-prompt")) { free(o->system_prompt); o->system_prompt = strdup(val); }
        else if (is(a, "--system-prompt-file", NULL)) { if (!read_file(val, &o->system_prompt)) return false; }
        else if (is(a, "--reasoning", NULL)) {
            o->reasoning = !strcmp(val, "on") ? 0 : !strcmp(val, "off") ? 1 : !strcmp(val, "hide") ? 2 : -1;
            if (o->reasoning < 0)
                return fail("invalid value '%s' for %s (expected on, off or hide)", val, a);
        }
        else if (is(a, "--embd-normalize", NULL)) { if (!parse_long(a, val, -1, 1000, &v)) return false; o->embd_normalize = (int)v; }
    }
    g_where = "";
    if (o->prompt && o->escape)
        process_escapes(o->prompt);
    if (o->sampling.top_p > 1.0f || o->sampling.top_p <= 0.0f)
        return fail("--top-p must be in (0, 1]%s%s", "", "");
    if (o->sampling.min_p < 0.0f || o->sampling.min_p > 1.0f)
        return fail("--min-p must be in [0, 1]%s%s", "", "");
    return true;
}

void cli_free(cli_options *o) {
    free(o->prompt);
    free(o->grammar);
    free(o->system_prompt);
    srv_options_free(&o->server);
}
