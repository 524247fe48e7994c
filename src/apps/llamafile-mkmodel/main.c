/* llamafile-mkmodel — writes a model with random weights and the shapes of
 * a real one, for benchmarks and tests without downloads: every tensor with
 * its real name and shape and the type llama-quantize gives it for the
 * chosen file type, the hyperparameters, and a tokenizer of the real
 * vocabulary size (a shared vocabulary, cut or extended with filler
 * tokens). The weights are generated, quantized and written a group of rows
 * at a time, so memory stays small whatever the model's size. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mkmodel.h"

static const char k_usage[] =
    "usage: llamafile-mkmodel --preset NAME [--type TYPE] OUT.gguf [options]\n"
    "\n"
    "Writes a GGUF model with random weights and the shapes of a real one.\n"
    "\n"
    "Presets (architecture):\n"
    "  tinyllama-1.1b        llama: TinyLlama-1.1B (22 layers, n_embd 2048,\n"
    "                        n_ff 5632, 32 heads, 4 KV heads, 32000 tokens)\n"
    "  tiny                  llama: 2 layers, n_embd 256, 512 tokens\n"
    "  ring-mini-2.0, ling-mini-2.0\n"
    "                        bailingmoe2: 16B total, 1.4B active (256 experts)\n"
    "  granite-4.0-h-tiny    granitehybrid: Mamba-2 + attention + MoE, 7B\n"
    "  gemma-3n-e4b          gemma3n: the text decoder of gemma-3n-E4B\n"
    "  gpt-oss-20b           gpt-oss: 21B total, 3.6B active\n"
    "  NAME-small            each of the last five at a few MB (same\n"
    "                        architecture and structure), for tests\n"
    "\n"
    "  --type T             file type, as llamafile-quantize names them (F16,\n"
    "                       BF16, F32, Q8_0, Q4_K_M, Q2_K, IQ4_XS, MXFP4_MOE,\n"
    "                       ...; default F16): each tensor gets the type\n"
    "                       llama-quantize's mix gives it\n"
    "  --arch NAME          checks the preset's architecture\n"
    "  --vocab FILE         GGUF whose tokenizer.* keys are copied (default: the\n"
    "                       preset's, under $SHARED/vocab, SHARED defaulting to\n"
    "                       ../shared); cut to the model's vocabulary or\n"
    "                       extended with filler tokens\n"
    "  --chat-template FILE stores FILE's text as tokenizer.chat_template\n"
    "                       (replacing the vocab file's, if it has one)\n"
    "  --seed N             weight seed (default: 1)\n"
    "  -t, --threads N      threads generating and quantizing (default: CPUs)\n"
    "  --distinct-rows N    a tensor of more rows gets N distinct random rows\n"
    "                       and copies of them (default 8192; 0: all distinct,\n"
    "                       which quantizes every row: slow for big models)\n"
    "  -v, --verbose        one line per tensor written, with the time\n"
    "  --n-layer N, --n-embd N, --n-ff N, --n-head N, --n-head-kv N,\n"
    "  --n-vocab N, --n-ctx N   override the preset (llama presets only;\n"
    "                       --n-vocab for every preset)\n"
    "  --version            print the version and exit\n"
    "  -h, --help           this help\n";

static int die(const char *fmt, const char *arg) {
    fprintf(stderr, "llamafile-mkmodel: ");
    fprintf(stderr, fmt, arg);
    fputc('\n', stderr);
    return 1;
}

static bool parse_u(const char *s, long max, long *out) {
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < 1 || v > max)
        return false;
    *out = v;
    return true;
}

static const char *const k_overrides[] = {
    "--n-layer", "--n-embd", "--n-ff", "--n-head", "--n-head-kv", "--n-vocab", "--n-ctx",
};
enum { N_OVERRIDES = sizeof k_overrides / sizeof k_overrides[0] };

static int override_index(const char *a) {
    for (int i = 0; i < N_OVERRIDES; i++)
        if (!strcmp(a, k_overrides[i]))
            return i;
    return -1;
}

static mk_family_fn *const k_families[] = {
    mk_llama, mk_bailingmoe2, mk_granitehybrid, mk_gemma3n, mk_gpt_oss,
};

int main(int argc, char **argv) {
    const char *arch = NULL, *preset = NULL, *out = NULL, *vocab = NULL, *tmpl_path = NULL;
    int ftype = LF_FTYPE_F16;
    long seed = 1, threads = 0, pool = 8192;
    bool verbose = false;
    long over[N_OVERRIDES] = {0};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int k;
        if (!strcmp(a, "-h") || !strcmp(a, "--help") || !strcmp(a, "--version")) {
            fputs(strcmp(a, "--version") ? k_usage : "llamafile-mkmodel " LF_VERSION_STRING "\n",
                  stdout);
            lf_error err;
            return lf_stdout_close(&err) ? 0 : die("%s", err.msg);
        }
        if (!strcmp(a, "-v") || !strcmp(a, "--verbose")) {
            verbose = true;
            continue;
        }
        if (a[0] != '-') {
            if (out)
                return die("unexpected argument '%s' (see --help)", a);
            out = a;
            continue;
        }
        if (i + 1 >= argc)
            return die("option %s needs a value (see --help)", a);
        const char *v = argv[++i];
        if (!strcmp(a, "--arch")) arch = v;
        else if (!strcmp(a, "--preset")) preset = v;
        else if (!strcmp(a, "--vocab")) vocab = v;
        else if (!strcmp(a, "--chat-template")) tmpl_path = v;
        else if (!strcmp(a, "--type")) {
            if ((ftype = lf_ftype_from_name(v)) < 0)
                return die("unknown --type '%s' (see llamafile-quantize --help)", v);
        } else if (!strcmp(a, "--seed")) {
            if (!parse_u(v, 1L << 30, &seed))
                return die("invalid seed '%s'", v);
        } else if (!strcmp(a, "-t") || !strcmp(a, "--threads")) {
            if (!parse_u(v, 64, &threads))
                return die("invalid thread count '%s' (1 to 64)", v);
        } else if (!strcmp(a, "--distinct-rows")) {
            if (strcmp(v, "0") && !parse_u(v, 1L << 30, &pool))
                return die("invalid row count '%s'", v);
            if (!strcmp(v, "0"))
                pool = 0;
        } else if ((k = override_index(a)) >= 0) {
            if (!parse_u(v, 1 << 20, &over[k]))
                return die("invalid value '%s'", v);
        } else
            return die("unknown option '%s' (see --help)", a);
    }
    if (!preset || !out)
        return die("%s", "--preset and an output file are required (see --help)");
    lf_error err = {{0}};
    mk_overrides o = {over[0], over[1], over[2], over[3], over[4], over[5], over[6]};
    mk_model m = {.w = lf_gguf_writer_new()};
    if (!m.w)
        return die("%s", "out of memory");
    bool known = false, ok = false;
    for (size_t i = 0; !known && i < sizeof k_families / sizeof k_families[0]; i++)
        ok = k_families[i](&m, preset, &o, &known, &err);
    int rc = 0;
    if (!known)
        rc = die("unknown preset '%s' (see --help)", preset);
    else if (!ok)
        rc = die("%s", err.msg[0] ? err.msg : "out of memory");
    else if (arch && strcmp(arch, m.arch))
        rc = die("unsupported architecture '%s' for this preset", arch);
    else if (strcmp(m.arch, "llama") &&
             (o.n_layer || o.n_embd || o.n_ff || o.n_head || o.n_head_kv || o.n_ctx))
        rc = die("%s", "shape options apply to the llama presets only");
    if (rc) {
        lf_gguf_writer_free(m.w);
        free(m.t);
        return rc;
    }
    if (o.n_vocab)
        m.n_vocab = (int)o.n_vocab;
    char def[4096];
    if (!vocab) {
        const char *sh = getenv("SHARED");
        snprintf(def, sizeof def, "%.3000s/vocab/%s", sh && *sh ? sh : "../shared", m.vocab);
        vocab = def;
    }
    char *tmpl = NULL;
    if (tmpl_path) {
        size_t len;
        if (!(tmpl = lf_read_text(tmpl_path, LF_TEXT_MAX, &len, &err)))
            rc = die("%s", err.msg);
        else if (strlen(tmpl) != len)
            rc = die("%s: the chat template has a NUL byte", tmpl_path);
    }
    if (!rc) {
        if (!threads) {
            long n = sysconf(_SC_NPROCESSORS_ONLN);
            threads = n < 1 ? 1 : n > 64 ? 64 : n;
        }
        if (!mk_write(&m, out, ftype, vocab, tmpl, (uint64_t)seed, (int)threads, pool,
                      !verbose, &err))
            rc = die("%s", err.msg);
    }
    free(tmpl);
    lf_gguf_writer_free(m.w);
    free(m.t);
    return rc;
}
