/* stream_read.c — the streaming-read bandwidth that generation is bounded
 * by: a file's bytes read by T threads at once (each a contiguous share,
 * 64-byte loads summed so nothing is optimised away), the median of P
 * passes (the first, which faults the pages in, left out), in GB/s. The
 * median, not the best: this VM's rate jumps from ~30 to ~50 GB/s for
 * bursts of a second or so, and the best pass catches a burst. MODE
 * `held` (the default) reads a copy in anonymous memory on 2 MiB pages,
 * where the loader holds the weights (model/repack.c); `mapped` reads the
 * page-cached file mapping (4 KiB pages: a TLB miss a page).
 * A benchmark tool (bench/seed_bench.sh); never run by `make check`.
 *
 *   stream_read FILE [THREADS=2] [PASSES=5] [MAX_GB=4] [MODE=held]
 */
#include <fcntl.h>
#include <immintrin.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

typedef struct {
    const uint8_t *p;
    size_t n;
    uint64_t sum;
} share;

static void *reader(void *arg) {
    share *s = arg;
    __m256i acc0 = _mm256_setzero_si256(), acc1 = _mm256_setzero_si256();
    for (size_t i = 0; i + 64 <= s->n; i += 64) {
        acc0 = _mm256_xor_si256(acc0, _mm256_loadu_si256((const __m256i *)(s->p + i)));
        acc1 = _mm256_xor_si256(acc1, _mm256_loadu_si256((const __m256i *)(s->p + i + 32)));
    }
    acc0 = _mm256_xor_si256(acc0, acc1);
    uint64_t lanes[4];
    _mm256_storeu_si256((__m256i *)lanes, acc0);
    s->sum = lanes[0] ^ lanes[1] ^ lanes[2] ^ lanes[3];
    return NULL;
}

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: stream_read FILE [THREADS] [PASSES] [MAX_GB] [held|mapped]\n");
        return 2;
    }
    int nt = argc > 2 ? atoi(argv[2]) : 2, passes = argc > 3 ? atoi(argv[3]) : 5;
    double max_gb = argc > 4 ? atof(argv[4]) : 4;
    if (nt < 1 || nt > 64 || passes < 1 || max_gb <= 0) {
        fprintf(stderr, "stream_read: bad arguments\n");
        return 2;
    }
    int fd = open(argv[1], O_RDONLY);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0) {
        perror(argv[1]);
        return 1;
    }
    size_t n = (size_t)st.st_size;
    if ((double)n > max_gb * 1e9)
        n = (size_t)(max_gb * 1e9);
    const uint8_t *p = mmap(NULL, n, PROT_READ, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED) {
        perror("mmap");
        return 1;
    }
    bool held = argc <= 5 || strcmp(argv[5], "mapped") != 0;
    if (held) {
        const size_t huge = 2u << 20;
        uint8_t *region = mmap(NULL, n + huge, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (region == MAP_FAILED) {
            perror("mmap");
            return 1;
        }
        uint8_t *q = (uint8_t *)(((uintptr_t)region + huge - 1) & ~(uintptr_t)(huge - 1));
        madvise(q, n, MADV_HUGEPAGE);
        memcpy(q, p, n);
        munmap((void *)p, n);
        p = q;
    }
    double rate[256];
    int nr = 0;
    uint64_t sum = 0;
    for (int k = 0; k < passes; k++) {
        pthread_t th[64];
        share sh[64];
        double t0 = now();
        for (int i = 0; i < nt; i++) {
            size_t a = n / (size_t)nt * (size_t)i, b = i + 1 == nt ? n : n / (size_t)nt * (size_t)(i + 1);
            sh[i] = (share){p + a, b - a, 0};
            pthread_create(&th[i], NULL, reader, &sh[i]);
        }
        for (int i = 0; i < nt; i++) {
            pthread_join(th[i], NULL);
            sum ^= sh[i].sum;
        }
        double gbs = (double)n / (now() - t0) / 1e9;
        if (k > 0 && nr < 256) /* the first pass faults the pages in */
            rate[nr++] = gbs;
    }
    for (int i = 1; i < nr; i++) /* insertion sort: a few passes */
        for (int j = i; j > 0 && rate[j - 1] > rate[j]; j--) {
            double t = rate[j];
            rate[j] = rate[j - 1], rate[j - 1] = t;
        }
    double median = nr == 0 ? 0.0 : nr % 2 ? rate[nr / 2] : (rate[nr / 2 - 1] + rate[nr / 2]) / 2;
    printf("%.1f\n", median);
    fprintf(stderr, "stream_read: %.2f GB %s, %d threads, median of %d passes (checksum %llx)\n",
            (double)n / 1e9, held ? "held" : "mapped", nt, passes - 1, (unsigned long long)sum);
    return 0;
}
