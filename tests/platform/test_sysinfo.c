/* test_sysinfo.c — CPU features agree with the kernel's /proc/cpuinfo;
 * the GPU line is well formed. With --gpu it prints lf_gpu_describe's
 * count and line, for test_gpu_fake.sh. */
#include <stdio.h>

#include "../harness.h"
#include "llamafile.h"

#if defined(__x86_64__)
/* Our names and the /proc/cpuinfo flags they must match. */
static const struct {
    const char *ours, *kernel;
} k_flags[] = {
    {"SSE3", "pni"}, {"SSSE3", "ssse3"}, {"SSE4_1", "sse4_1"}, {"SSE4_2", "sse4_2"},
    {"AVX", "avx"}, {"AVX2", "avx2"}, {"FMA", "fma"}, {"F16C", "f16c"},
    {"AVX_VNNI", "avx_vnni"}, {"AVX512", "avx512f"}, {"AVX512BW", "avx512bw"},
    {"AVX512DQ", "avx512dq"}, {"AVX512VL", "avx512vl"}, {"AVX512_VBMI", "avx512vbmi"},
    {"AVX512_VNNI", "avx512_vnni"}, {"AVX512_BF16", "avx512_bf16"},
    {"AVX512_FP16", "avx512_fp16"},
};

static bool has_word(const char *list, const char *word) {
    size_t n = strlen(word);
    for (const char *p = list; (p = strstr(p, word)); p += n)
        if ((p == list || p[-1] == ' ') && (p[n] == ' ' || p[n] == '\n' || !p[n]))
            return true;
    return false;
}
#endif

static void test_cpu(void) {
#if defined(__x86_64__)
    FILE *f = fopen("/proc/cpuinfo", "r");
    static char line[8192];
    bool found = false;
    while (f && fgets(line, sizeof(line), f))
        if (!strncmp(line, "flags", 5)) {
            found = true;
            break;
        }
    if (f)
        fclose(f);
    if (!found) {
        SKIP("cpu features match /proc/cpuinfo", "no flags line in /proc/cpuinfo");
        return;
    }
    TEST_BEGIN("cpu features match /proc/cpuinfo");
    const char *ours = lf_cpu_features();
    printf("# %s\n", ours);
    for (size_t i = 0; i < sizeof(k_flags) / sizeof(k_flags[0]); i++)
        EXPECT(has_word(ours, k_flags[i].ours) == has_word(line, k_flags[i].kernel),
               "%s: ours %d, kernel's %s %d", k_flags[i].ours, has_word(ours, k_flags[i].ours),
               k_flags[i].kernel, has_word(line, k_flags[i].kernel));
    EXPECT(lf_cpu_features() == ours, "not cached");
    TEST_END();
#else
    SKIP("cpu features match /proc/cpuinfo", "not x86-64");
#endif
}

static void test_gpu(void) {
    TEST_BEGIN("gpu line");
    char buf[512];
    int n = lf_gpu_describe(buf, sizeof(buf));
    printf("# %s\n", buf);
    EXPECT(!strncmp(buf, "GPU: ", 5) && !strchr(buf, '\n'), "line '%s'", buf);
    EXPECT(n > 0 ? !strncmp(buf, "GPU: CUDA", 9) : !strncmp(buf, "GPU: none detected (CPU only", 28),
           "%d devices but '%s'", n, buf);
    char tiny[8];
    lf_gpu_describe(tiny, sizeof(tiny));
    EXPECT(strlen(tiny) == 7, "tiny buffer: '%s'", tiny);
    TEST_END();
}

int main(int argc, char **argv) {
    if (argc > 1 && !strcmp(argv[1], "--gpu")) {
        char buf[1024];
        int n = lf_gpu_describe(buf, sizeof(buf));
        printf("%d\n%s\n", n, buf);
        return 0;
    }
    test_cpu();
    test_gpu();
    return test_summary();
}
