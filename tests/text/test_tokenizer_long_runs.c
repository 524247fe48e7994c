/* Tokenizer speed on long runs of one character (letters, spaces, digits,
 * newlines, punctuation, CJK, emoji) next to ordinary text. Prints the
 * times (best of two) as information — speed is a benchmark, not a test —
 * and fails only if a long run cannot be tokenized. Under sanitizers the
 * sizes are 8x smaller. LF_PERF_ALL=1 runs every vocab, not just one SPM
 * and two BPE. */
#include <time.h>

#include "../harness.h"
#include "text_util.h"

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Pseudo-English: words, spaces, some punctuation and newlines. */
static void fill_text(char *buf, size_t n) {
    static const char *const words[] = {
        "the", "of", "and", "to", "in", "is", "was", "that", "for", "it", "with", "as", "his",
        "on", "be", "at", "by", "I", "this", "had", "not", "are", "but", "from", "or", "have",
        "an", "they", "which", "one", "you", "were", "her", "all", "she", "there", "would",
        "their", "we", "him", "been", "has", "when", "who", "will", "more", "no", "if", "out",
        "so", "said", "what", "up", "its", "about", "into", "than", "them", "can", "only",
        "other", "new", "some", "could", "time", "these", "two", "may", "then", "do", "first",
        "any", "my", "now", "such", "like", "our", "over", "man", "me", "even", "most", "made",
        "after", "also", "did", "many", "before", "must", "through", "years", "where", "much",
        "your", "way", "well", "down", "should", "because", "each", "just", "1984", "don't"};
    uint32_t r = 12345;
    size_t o = 0;
    while (o < n) {
        r = r * 1103515245u + 12345u;
        const char *w = words[(r >> 8) % (sizeof words / sizeof words[0])];
        for (size_t k = 0; w[k] && o < n; k++)
            buf[o++] = w[k];
        if (o < n)
            buf[o++] = (r >> 20) % 17 == 0 ? '.' : (r >> 20) % 23 == 0 ? '\n' : ' ';
    }
}

static void fill_repeat(char *buf, size_t n, const char *unit) {
    size_t u = strlen(unit), o = 0;
    for (; o + u <= n; o += u)
        memcpy(buf + o, unit, u);
    memset(buf + o, 'a', n - o);
}

static double time_tokenize(const lf_vocab *v, const char *s, size_t n, int64_t *count) {
    double best = 1e9;
    for (int r = 0; r < 2; r++) {
        double t0 = now();
        int32_t *ids = tu_tokenize(v, s, n, false, false, count);
        double t = now() - t0;
        free(ids);
        best = t < best ? t : best;
    }
    return best;
}

#if defined(__SANITIZE_ADDRESS__)
#define SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SANITIZED 1
#endif
#endif
#ifdef SANITIZED
enum { BIG = 1 << 17, SMALL = 1 << 14 };
#else
enum { BIG = 1 << 20, SMALL = 1 << 17 };
#endif

static void run_vocab(const char *name, const char *path) {
    lf_error err = {{0}};
    lf_gguf *g;
    lf_vocab *v = tu_load_vocab(path, &g, &err);
    if (!v) {
        SKIP(name, "%s", err.msg);
        return;
    }
    static const struct {
        const char *what, *unit;
    } k[] = {{"text", NULL},    {"a", "a"},   {"space", " "},   {"digit", "7"},
             {"newline", "\n"}, {"!", "!"},   {"CJK", "中"},    {"emoji", "🦙"},
             {" a", " a"},      {"Aa", "A"}};
    char *buf = malloc(BIG);
    char line[1024];
    int o = snprintf(line, sizeof line, "# %-10s ms/MiB:", name);
    TEST_BEGIN(name);
    for (size_t i = 0; i < sizeof k / sizeof k[0]; i++) {
        if (k[i].unit)
            fill_repeat(buf, BIG, k[i].unit);
        else
            fill_text(buf, BIG);
        int64_t n_big, n_small;
        double t_small = time_tokenize(v, buf, SMALL, &n_small);
        double t_big = time_tokenize(v, buf, BIG, &n_big);
        EXPECT(n_big > 0 && n_small > 0, "%s: tokenize failed", k[i].what);
        (void)t_small; /* timings are printed, never asserted: this is a benchmark */
        if (o < (int)sizeof line)
            o += snprintf(line + o, sizeof line - (size_t)o, " %s %.0f", k[i].what,
                          1e3 * t_big * (1 << 20) / BIG);
    }
    printf("%s\n", line);
    TEST_END();
    free(buf);
    lf_vocab_free(v);
    lf_gguf_close(g);
}

int main(void) {
    static const char *const all[] = {"llama-spm", "llama-bpe", "gpt-oss",  "qwen2",
                                      "phi-3",     "gpt-2",     "falcon",   "deepseek-llm",
                                      "deepseek-coder", "starcoder", "mpt", "refact"};
    const char *env = getenv("LF_PERF_ALL");
    size_t n = env && *env == '1' ? sizeof all / sizeof all[0] : 3;
    for (size_t i = 0; i < n; i++) {
        char path[1024], name[64];
        snprintf(path, sizeof path, "%s/vocab/ggml-vocab-%s.gguf", test_shared_dir(), all[i]);
        snprintf(name, sizeof name, "perf %s", all[i]);
        run_vocab(name, path);
    }
    return test_summary();
}
