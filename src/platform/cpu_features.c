/* cpu_features.c — CPU feature detection (cpuid and xgetbv on x86-64,
 * hwcaps on arm64). */
#include "platform/cpu.h"

#include <pthread.h>
#include <string.h>

#include "llamafile.h"

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>

static uint64_t xcr0(void) {
    uint32_t lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return (uint64_t)hi << 32 | lo;
}

static uint32_t detect(void) {
    unsigned a, b, c, d, max = __get_cpuid_max(0, NULL);
    uint32_t f = 0;
    if (max < 1 || !__get_cpuid(1, &a, &b, &c, &d))
        return 0;
    f |= c & 1 ? LF_CPU_SSE3 : 0;
    f |= c >> 9 & 1 ? LF_CPU_SSSE3 : 0;
    f |= c >> 19 & 1 ? LF_CPU_SSE4_1 : 0;
    f |= c >> 20 & 1 ? LF_CPU_SSE4_2 : 0;
    /* AVX state must be enabled by the OS (OSXSAVE, XCR0 bits 1-2). */
    uint64_t x = c >> 27 & 1 ? xcr0() : 0;
    bool avx_os = (x & 6) == 6, avx512_os = (x & 0xe6) == 0xe6;
    if (!avx_os)
        return f;
    f |= c >> 28 & 1 ? LF_CPU_AVX : 0;
    f |= c >> 12 & 1 ? LF_CPU_FMA : 0;
    f |= c >> 29 & 1 ? LF_CPU_F16C : 0;
    if (max < 7)
        return f;
    __cpuid_count(7, 0, a, b, c, d);
    unsigned sub = a, b7 = b, c7 = c, d7 = d, a71 = 0;
    if (sub >= 1) {
        __cpuid_count(7, 1, a, b, c, d);
        a71 = a;
    }
    f |= b7 >> 5 & 1 ? LF_CPU_AVX2 : 0;
    f |= a71 >> 4 & 1 ? LF_CPU_AVX_VNNI : 0;
    if (!avx512_os || !(b7 >> 16 & 1))
        return f;
    f |= LF_CPU_AVX512F;
    f |= b7 >> 30 & 1 ? LF_CPU_AVX512BW : 0;
    f |= b7 >> 17 & 1 ? LF_CPU_AVX512DQ : 0;
    f |= b7 >> 31 & 1 ? LF_CPU_AVX512VL : 0;
    f |= c7 >> 1 & 1 ? LF_CPU_AVX512_VBMI : 0;
    f |= c7 >> 11 & 1 ? LF_CPU_AVX512_VNNI : 0;
    f |= a71 >> 5 & 1 ? LF_CPU_AVX512_BF16 : 0;
    f |= d7 >> 23 & 1 ? LF_CPU_AVX512_FP16 : 0;
    return f;
}
#elif defined(__aarch64__)
#include <sys/auxv.h>

static uint32_t detect(void) {
    unsigned long hw = getauxval(AT_HWCAP);
    return LF_CPU_NEON | (hw & (1ul << 20) ? LF_CPU_DOTPROD : 0); /* HWCAP_ASIMDDP */
}
#else
static uint32_t detect(void) {
    return 0;
}
#endif

static uint32_t g_flags;
static char g_names[256];
static pthread_once_t g_once = PTHREAD_ONCE_INIT;

/* Names as llama.cpp's system info prints them ("AVX512" is AVX-512F). */
static const struct {
    uint32_t bit;
    const char *name;
} k_names[] = {
    {LF_CPU_SSE3, "SSE3"}, {LF_CPU_SSSE3, "SSSE3"}, {LF_CPU_SSE4_1, "SSE4_1"},
    {LF_CPU_SSE4_2, "SSE4_2"}, {LF_CPU_AVX, "AVX"}, {LF_CPU_AVX2, "AVX2"},
    {LF_CPU_FMA, "FMA"}, {LF_CPU_F16C, "F16C"}, {LF_CPU_AVX_VNNI, "AVX_VNNI"},
    {LF_CPU_AVX512F, "AVX512"}, {LF_CPU_AVX512BW, "AVX512BW"},
    {LF_CPU_AVX512DQ, "AVX512DQ"}, {LF_CPU_AVX512VL, "AVX512VL"},
    {LF_CPU_AVX512_VBMI, "AVX512_VBMI"}, {LF_CPU_AVX512_VNNI, "AVX512_VNNI"},
    {LF_CPU_AVX512_BF16, "AVX512_BF16"}, {LF_CPU_AVX512_FP16, "AVX512_FP16"},
    {LF_CPU_NEON, "NEON"}, {LF_CPU_DOTPROD, "DOTPROD"},
};

static void init(void) {
    g_flags = detect();
    size_t o = 0;
    for (size_t i = 0; i < sizeof(k_names) / sizeof(k_names[0]); i++) {
        if (!(g_flags & k_names[i].bit))
            continue;
        size_t len = strlen(k_names[i].name);
        if (o + len + 2 > sizeof(g_names))
            break;
        if (o)
            g_names[o++] = ' ';
        memcpy(g_names + o, k_names[i].name, len + 1);
        o += len;
    }
}

uint32_t lf_cpu_flags(void) {
    pthread_once(&g_once, init);
    return g_flags;
}

const char *lf_cpu_features(void) {
    pthread_once(&g_once, init);
    return g_names;
}
