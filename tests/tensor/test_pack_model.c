/* test_pack_model.c — weights held in memory and repacked at load
 * (model/repack.c): every Q4_K_M and F16 vector model, the llama Q5_K_M,
 * Q3_K_M, Q4_0, IQ4_NL and BF16 ones, two Q2_K and two Q8_0 ones, load by default with their matrices copied and those of a
 * packed type packed when the kernel set reads that layout, and gives bit for bit the logits of the same model read from the
 * file mapping plain (LLAMAFILE_REPACK=0), at 1 and 2 threads; again with
 * copy units so small that packed groups straddle them. The copies lie end
 * to end in one arena. With LF_REPACK_BACKGROUND the copy runs a little
 * per decode, and the logits stay those of the mapped model throughout. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../harness.h"
#include "../model/model_util.h"
#include "model/model.h"
#include "tensor/kernels.h"

enum { NT = 6 };

/* Logits of NT tokens decoded one batch, then one more token alone. */
static bool run(lf_model *m, int threads, float *out, int nv) {
    lf_context *c = new_ctx(m, threads, 64, 1);
    static const int32_t toks[NT + 1] = {1, 5, 9, 3, 7, 2, 4};
    bool ok = c && decode(c, toks, NT, 0, 0);
    for (int i = 0; ok && i < NT; i++) {
        const float *l = lf_get_logits_ith(c, i);
        ok = l != NULL;
        if (ok)
            memcpy(out + (size_t)i * (size_t)nv, l, sizeof(float) * (size_t)nv);
    }
    ok = ok && decode(c, toks + NT, 1, 0, NT);
    const float *l = ok ? lf_get_logits_ith(c, 0) : NULL;
    if (l)
        memcpy(out + (size_t)NT * (size_t)nv, l, sizeof(float) * (size_t)nv);
    lf_context_free(c);
    return l != NULL;
}

/* The vector model ARCH-TYPE (its path in path[n]) read from the file
 * mapping, every weight plain; NULL (the test skipped) if it cannot be. */
static lf_model *mapped_or_skip(const char *label, char *path, size_t n, const char *arch, const char *type) {
    snprintf(path, n, "%s/vectors/%s-%s.gguf", test_shared_dir(), arch, type);
    lf_error err;
    setenv("LLAMAFILE_REPACK", "0", 1);
    lf_model *m = lf_model_load(path, &err);
    unsetenv("LLAMAFILE_REPACK"); /* the default: held and packed */
    if (!m)
        SKIP(label, "%s", err.msg);
    return m;
}

/* The model loaded mapped, its copies made by decodes in units of `unit`
 * bytes (LF_REPACK_BACKGROUND). */
static lf_model *load_background(const char *path, size_t unit, lf_error *err) {
    size_t was = lf_model_pack_unit;
    lf_model_pack_unit = unit;
    lf_set_repack(LF_REPACK_BACKGROUND);
    lf_model *m = lf_model_load(path, err);
    lf_set_repack(LF_REPACK_AT_LOAD);
    lf_model_pack_unit = was;
    return m;
}

static void test_model(const char *arch, const char *file_type, int packed_type) {
    char label[128], path[1024];
    snprintf(label, sizeof label, "repack at load: %s-%s packed = plain", arch, file_type);
    lf_error err;
    lf_model *plain = mapped_or_skip(label, path, sizeof path, arch, file_type);
    if (!plain)
        return;
    TEST_BEGIN(label);
    lf_model *packed = lf_model_load(path, &err);
    EXPECT(packed, "%s", err.msg);
    bool reads = lf_kernels_for(lf_kernels(), packed_type)->packed;
    EXPECT(plain->n_packed == 0 && plain->n_held == 0, "%d tensors held, %d packed with LLAMAFILE_REPACK=0",
           plain->n_held, plain->n_packed);
    EXPECT(!packed || packed->n_held > 0, "no tensor held in memory");
    /* one arena, copies end to end: no copy keeps a huge page to itself */
    size_t span = packed ? lf_model_held_span(packed) : 0;
    EXPECT(!packed || span <= packed->held_bytes + 4096 * (size_t)packed->n_held,
           "held copies span %zu bytes for %zu bytes in %d tensors", span, packed ? packed->held_bytes : 0,
           packed ? packed->n_held : 0);
    EXPECT(!packed || (reads ? packed->n_packed > 0 : packed->n_packed == 0), "%d tensors packed (kernels %s)",
           packed ? packed->n_packed : 0, lf_kernels()->name);
    int nv = lf_model_n_vocab(plain);
    size_t bytes = sizeof(float) * (size_t)nv * (NT + 1);
    float *a = malloc(bytes), *b = malloc(bytes);
    for (int th = 1; packed && a && b && th <= 2; th++) {
        bool ok = run(plain, th, a, nv) && run(packed, th, b, nv);
        EXPECT(ok, "decode failed");
        EXPECT(!ok || memcmp(a, b, bytes) == 0, "%d threads: logits differ by up to %g", th,
               max_diff(a, b, nv * (NT + 1)));
    }
    free(a);
    free(b);
    lf_model_free(packed);
    lf_model_free(plain);
    TEST_END();
}

/* LF_REPACK_BACKGROUND: the model loads with every weight mapped; then,
 * one token per decode, each decode after the first copies a little and
 * switches the tensors done: a twelfth of the weights in units of 3000
 * bytes, or (chunkwise) one unit of a thirtieth of the file, so that a step
 * ends at every unit boundary, one short of a tensor's end too. The logits
 * equal the mapped model's at every step, some decode sees the weights
 * part switched, and once all are, nothing in the weight block points at
 * the mapping of a copied tensor (a tied output too). */
static void test_background(const char *arch, const char *file_type, int threads, bool chunkwise) {
    char label[200], path[1024];
    snprintf(label, sizeof label, "repack in background: %s-%s at %d threads%s, logits unchanged while the weights switch",
             arch, file_type, threads, chunkwise ? ", a unit per decode" : "");
    lf_error err;
    lf_model *plain = mapped_or_skip(label, path, sizeof path, arch, file_type);
    if (!plain)
        return;
    TEST_BEGIN(label);
    lf_model *bg = load_background(path, chunkwise ? (size_t)lf_model_size(plain) / 30 + 1 : 3000, &err);
    EXPECT(bg, "%s", err.msg);
    int held = 0, packed = 0;
    uint64_t bytes = 0;
    double ms = 0;
    if (bg)
        lf_model_held(bg, &held, &bytes, &packed, &ms);
    EXPECT(held > 1 && ms < 0 && lf_model_pack_switched(bg) == 0 && !lf_model_pack_settled(bg),
           "after the load: %d held, %g ms, %d switched", held, ms, bg ? lf_model_pack_switched(bg) : -1);
    lf_model_pack_step_cap = chunkwise ? 1 : (size_t)bytes / 12;
    lf_context *a = new_ctx(plain, threads, 64, 1), *b = bg ? new_ctx(bg, threads, 64, 1) : NULL;
    int nv = lf_model_n_vocab(plain), step = 0, partly = 0;
    EXPECT(a && (b || !bg), "context failed");
    for (; a && b && step < 60 && !lf_model_pack_settled(bg); step++) {
        int32_t tok = 1 + step * 7 % (nv - 1);
        bool ok = decode(a, &tok, 1, 0, step) && decode(b, &tok, 1, 0, step);
        const float *la = ok ? lf_get_logits_ith(a, 0) : NULL, *lb = ok ? lf_get_logits_ith(b, 0) : NULL;
        EXPECT(la && lb, "decode %d failed", step);
        if (!la || !lb)
            break;
        EXPECT(memcmp(la, lb, sizeof(float) * (size_t)nv) == 0, "decode %d (%d of %d tensors switched): logits differ by up to %g",
               step, lf_model_pack_switched(bg), held, max_diff(la, lb, nv));
        int sw = lf_model_pack_switched(bg);
        partly += sw > 0 && sw < held;
    }
    EXPECT(!bg || lf_model_pack_settled(bg), "not settled after %d decodes (%d of %d switched)", step,
           bg ? lf_model_pack_switched(bg) : 0, held);
    EXPECT(partly > 0, "no decode saw the weights part switched");
    EXPECT(!bg || lf_model_pack_stale(bg) == 0, "%d pointers in the weight block still read the mapping",
           bg ? lf_model_pack_stale(bg) : 0);
    if (bg)
        lf_model_held(bg, &held, &bytes, &packed, &ms);
    EXPECT(ms >= 0, "the copy time is still %g", ms);
    lf_model_pack_step_cap = SIZE_MAX;
    lf_context_free(a);
    lf_context_free(b);
    lf_model_free(bg);
    lf_model_free(plain);
    TEST_END();
}

/* Two contexts of one model decoding at once on two threads while the
 * copy runs: a switch made by one waits for the other's forward pass, so
 * both keep the mapped model's logits at every step. Each lf_weight stays
 * half switched for a millisecond (lf_model_pack_switch_hook), which a
 * forward pass not held off by the lock would read. */
static void slow_switch(void) { usleep(1000); }

enum { CONC_STEPS = 40 };
struct conc {
    lf_model *m;
    const float *want; /* [CONC_STEPS][nv] */
    int nv, bad, failed;
};

static void *conc_main(void *arg) {
    struct conc *t = arg;
    lf_context *c = new_ctx(t->m, 1, 64, 1);
    for (int i = 0; c && i < CONC_STEPS; i++) {
        int32_t tok = 1 + i * 7 % (t->nv - 1);
        const float *l = decode(c, &tok, 1, 0, i) ? lf_get_logits_ith(c, 0) : NULL;
        if (!l) {
            t->failed++;
            break;
        }
        t->bad += memcmp(l, t->want + (size_t)i * (size_t)t->nv, sizeof(float) * (size_t)t->nv) != 0;
    }
    t->failed += !c;
    lf_context_free(c);
    return NULL;
}

static void test_background_concurrent(void) {
    const char *label = "repack in background: two contexts decoding at once on two threads while the weights switch";
    char path[1024];
    lf_error err;
    lf_model *plain = mapped_or_skip(label, path, sizeof path, "llama", "Q4_K_M");
    if (!plain)
        return;
    TEST_BEGIN(label);
    int nv = lf_model_n_vocab(plain);
    float *want = malloc(sizeof(float) * (size_t)nv * CONC_STEPS);
    lf_context *c = new_ctx(plain, 1, 64, 1);
    for (int i = 0; want && c && i < CONC_STEPS; i++) {
        int32_t tok = 1 + i * 7 % (nv - 1);
        const float *l = decode(c, &tok, 1, 0, i) ? lf_get_logits_ith(c, 0) : NULL;
        EXPECT(l, "reference decode %d failed", i);
        if (l)
            memcpy(want + (size_t)i * (size_t)nv, l, sizeof(float) * (size_t)nv);
    }
    lf_context_free(c);
    lf_model *bg = load_background(path, 3000, &err);
    EXPECT(bg && want, "%s", err.msg);
    lf_model_pack_step_cap = 12000; /* the first tensor (36 units) switches within 9 steps */
    lf_model_pack_switch_hook = slow_switch;
    struct conc t[2] = {{bg, want, nv, 0, 0}, {bg, want, nv, 0, 0}};
    pthread_t th[2];
    int started = 0;
    for (int i = 0; bg && want && i < 2; i++)
        started += pthread_create(&th[i], NULL, conc_main, &t[i]) == 0;
    for (int i = 0; i < started; i++)
        pthread_join(th[i], NULL);
    EXPECT(started == 2 || !bg, "thread start failed");
    for (int i = 0; i < started; i++)
        EXPECT(!t[i].failed && !t[i].bad, "thread %d: %d decodes failed, %d with other logits", i, t[i].failed, t[i].bad);
    int switched = bg ? lf_model_pack_switched(bg) : 0;
    EXPECT(switched > 0, "no tensor switched");
    lf_model_pack_step_cap = SIZE_MAX;
    lf_model_pack_switch_hook = NULL;
    free(want);
    lf_model_free(bg);
    lf_model_free(plain);
    TEST_END();
}

/* A model freed with its copy half done. */
static void test_background_free(void) {
    const char *label = "repack in background: a model freed with its copy half done";
    char path[1024];
    snprintf(path, sizeof path, "%s/vectors/llama-Q4_K_M.gguf", test_shared_dir());
    lf_error err;
    lf_model *m = load_background(path, 3000, &err);
    if (!m) {
        SKIP(label, "%s", err.msg);
        return;
    }
    TEST_BEGIN(label);
    lf_model_pack_step_cap = 120000;
    lf_context *c = new_ctx(m, 2, 64, 1);
    static const int32_t toks[3] = {1, 5, 9};
    for (int i = 0; c && i < 3; i++)
        EXPECT(decode(c, toks + i, 1, 0, i), "decode %d failed", i);
    EXPECT(lf_model_pack_switched(m) > 0 && !lf_model_pack_settled(m), "%d switched, settled %d",
           lf_model_pack_switched(m), lf_model_pack_settled(m));
    lf_model_pack_step_cap = SIZE_MAX;
    lf_context_free(c);
    lf_model_free(m);
    TEST_END();
}

#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif

/* The process's address space in bytes (VmSize), 0 if unknown. */
static size_t vm_size(void) {
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    size_t kb = 0;
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "VmSize: %zu kB", &kb) == 1)
            break;
    if (f)
        fclose(f);
    return kb * 1024;
}

/* In a child process whose address space is limited to 1 GiB past ours,
 * run(path of the llama Q4_K_M model) must return 0; what its other
 * returns mean goes in the failure message. */
static void under_address_limit(const char *label, int (*run_child)(const char *path), const char *meaning) {
    char path[1024];
    snprintf(path, sizeof path, "%s/vectors/llama-Q4_K_M.gguf", test_shared_dir());
#ifdef UNDER_ASAN
    SKIP(label, "ASan reserves more address space than the limit");
    return;
#endif
    size_t vm = vm_size();
    if (!vm || access(path, R_OK) != 0) {
        SKIP(label, "no VmSize or no %s", path);
        return;
    }
    TEST_BEGIN(label);
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        struct rlimit rl;
        getrlimit(RLIMIT_AS, &rl);
        rl.rlim_cur = vm + ((size_t)1 << 30);
        setrlimit(RLIMIT_AS, &rl);
        _exit(run_child(path));
    }
    int status = 0;
    EXPECT(pid > 0 && waitpid(pid, &status, 0) == pid, "fork failed");
    EXPECT(WIFEXITED(status) && WEXITSTATUS(status) == 0, "status %d (%s)", status, meaning);
    TEST_END();
}

/* The budget (half the memory) cannot be reserved: a smaller arena is. */
static int holds_weights(const char *path) {
    lf_error err;
    lf_model *m = lf_model_load(path, &err);
    return m && m->n_held > 0 ? 0 : 1;
}

/* With copies to come (LF_REPACK_BACKGROUND) the arena stays reserved
 * until they end, so it must ask for no more than the model's tensors
 * (under strict overcommit the whole reservation is charged). */
static int leaves_room(const char *path) {
    lf_error err;
    lf_model *m = load_background(path, 3000, &err);
    return !m ? 1 : !malloc((size_t)600 << 20) ? 2 : 0;
}

int main(void) {
    static const char *const archs[] = {"llama", "qwen3", "gemma3", "gemma3n", "bailingmoe2", "granitehybrid", "gpt-oss"};
    for (size_t i = 0; i < sizeof archs / sizeof archs[0]; i++)
        test_model(archs[i], "Q4_K_M", LF_TYPE_Q4_K);
    test_model("llama", "Q5_K_M", LF_TYPE_Q5_K);
    test_model("llama", "Q2_K", LF_TYPE_Q2_K);
    test_model("bailingmoe2", "Q2_K", LF_TYPE_Q2_K);
    test_model("llama", "Q3_K_M", LF_TYPE_Q3_K);
    test_model("llama", "Q4_0", LF_TYPE_Q4_0);
    test_model("llama", "IQ4_NL", LF_TYPE_IQ4_NL);
    test_model("llama", "Q8_0", LF_TYPE_Q8_0);
    test_model("qwen3", "Q8_0", LF_TYPE_Q8_0);
    static const char *const f16[] = {"llama", "qwen3", "gemma3", "bailingmoe2", "granitehybrid", "gpt-oss"};
    for (size_t i = 0; i < sizeof f16 / sizeof f16[0]; i++)
        test_model(f16[i], "F16", LF_TYPE_F16);
    test_model("llama", "BF16", LF_TYPE_BF16);
    /* copy units of a few KiB: packed groups and plain rows straddle them */
    lf_model_pack_unit = 3000;
    test_model("llama", "F16", LF_TYPE_F16);
    test_model("llama", "Q4_K_M", LF_TYPE_Q4_K);
    test_model("granitehybrid", "Q4_K_M", LF_TYPE_Q4_K);
    under_address_limit("repack at load: an address-space limit under the budget still holds weights",
                        holds_weights, "exit 1: no weight held");
    under_address_limit("repack in background: the reserved arena leaves the rest of a limit free",
                        leaves_room, "exit 1: no load; 2: 600 MiB not to be had after it");
    test_background("llama", "Q4_K_M", 2, false);
    test_background("gemma3", "Q4_K_M", 1, false); /* tied output */
    test_background("gemma3n", "Q4_K_M", 2, false);
    test_background("qwen3", "F16", 2, false);     /* tied, F16 */
    test_background("bailingmoe2", "Q4_K_M", 2, false); /* MoE experts, held plain */
    test_background("granitehybrid", "Q4_K_M", 2, false);
    test_background("gpt-oss", "Q4_K_M", 1, false);
    test_background("llama", "Q4_K_M", 1, true);
    test_background("llama", "F16", 1, true);
    test_background_concurrent();
    test_background_free();
    return test_summary();
}
