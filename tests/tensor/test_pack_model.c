/* test_pack_model.c — weights held in memory and repacked at load
 * (model/repack.c): every Q4_K_M and F16 vector model, the llama Q5_K_M,
 * Q3_K_M, Q4_0, IQ4_NL and BF16 ones, two Q2_K and two Q8_0 ones, load by default with their matrices copied and those of a
 * packed type packed when the kernel set reads that layout, and gives bit for bit the logits of the same model read from the
 * file mapping plain (LLAMAFILE_REPACK=0), at 1 and 2 threads; again with
 * copy units so small that packed groups straddle them. The copies lie end
 * to end in one arena. */
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

static void test_model(const char *arch, const char *file_type, int packed_type) {
    char label[128], path[1024];
    snprintf(label, sizeof label, "repack at load: %s-%s packed = plain", arch, file_type);
    snprintf(path, sizeof path, "%s/vectors/%s-%s.gguf", test_shared_dir(), arch, file_type);
    lf_error err;
    setenv("LLAMAFILE_REPACK", "0", 1);
    lf_model *plain = lf_model_load(path, &err);
    unsetenv("LLAMAFILE_REPACK"); /* the default: held and packed */
    if (!plain) {
        SKIP(label, "%s", err.msg);
        return;
    }
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

/* With the address space limited below the budget (half the memory), the
 * arena is reserved smaller and the weights are still held. */
static void test_address_limit(void) {
    const char *label = "repack at load: an address-space limit under the budget still holds weights";
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
        lf_error err;
        lf_model *m = lf_model_load(path, &err);
        _exit(m && m->n_held > 0 ? 0 : 1);
    }
    int status = 0;
    EXPECT(pid > 0 && waitpid(pid, &status, 0) == pid, "fork failed");
    EXPECT(WIFEXITED(status) && WEXITSTATUS(status) == 0, "no weight held under the limit (status %d)", status);
    TEST_END();
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
    test_address_limit();
    return test_summary();
}
