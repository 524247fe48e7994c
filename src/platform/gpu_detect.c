/* gpu_detect.c — CUDA devices, found through the driver library
 * (libcuda.so.1) loaded at run time, so the binary never depends on it.
 *
 * The query runs in a child process: a driver may crash or hang while
 * initialising, and whatever happens in the child, the caller gets a line.
 * Programs that call this link glibc dynamically (LIBC_DYNAMIC in the
 * Makefile): dlopen from a static glibc would need that same glibc. */
#include <dlfcn.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "llamafile.h"

#define NONE "GPU: none detected (CPU only"
#define CUDA_ERROR_NO_DEVICE 100
#define ATTR_CC_MAJOR 75
#define ATTR_CC_MINOR 76
#define QUERY_TIMEOUT_MS 15000

typedef int (*cu_init_fn)(unsigned);
typedef int (*cu_int_fn)(int *);
typedef int (*cu_get_fn)(int *, int);
typedef int (*cu_name_fn)(char *, int, int);
typedef int (*cu_mem_fn)(size_t *, int);
typedef int (*cu_attr_fn)(int *, int, int);

/* Appends one device's description. */
static void describe_device(void *h, int i, char *buf, size_t n) {
    cu_get_fn get = (cu_get_fn)dlsym(h, "cuDeviceGet");
    cu_name_fn name = (cu_name_fn)dlsym(h, "cuDeviceGetName");
    cu_mem_fn mem = (cu_mem_fn)dlsym(h, "cuDeviceTotalMem_v2");
    cu_attr_fn attr = (cu_attr_fn)dlsym(h, "cuDeviceGetAttribute");
    char dev_name[128] = "unknown device";
    int dev = i, major = 0, minor = 0;
    size_t bytes = 0;
    if (get && get(&dev, i) != 0)
        dev = i;
    if (name && name(dev_name, (int)sizeof(dev_name), dev) != 0)
        strcpy(dev_name, "unknown device");
    dev_name[sizeof(dev_name) - 1] = 0;
    size_t o = strlen(buf);
    o += (size_t)snprintf(buf + o, n - o, "%s[%d] %s", i ? ", " : "", i, dev_name);
    if (o < n && attr && attr(&major, ATTR_CC_MAJOR, dev) == 0 &&
        attr(&minor, ATTR_CC_MINOR, dev) == 0)
        o += (size_t)snprintf(buf + o, n - o, " (sm_%d%d", major, minor);
    else if (o < n)
        o += (size_t)snprintf(buf + o, n - o, " (");
    if (o < n && mem && mem(&bytes, dev) == 0)
        o += (size_t)snprintf(buf + o, n - o, "%s%.1f GiB", major ? ", " : "",
                              (double)bytes / (1u << 30));
    if (o < n)
        snprintf(buf + o, n - o, ")");
}

/* The query itself: the device count, with the line in buf. */
static int query(char *buf, size_t n) {
    void *h = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        snprintf(buf, n, NONE ")");
        return 0;
    }
    cu_init_fn init = (cu_init_fn)dlsym(h, "cuInit");
    cu_int_fn count = (cu_int_fn)dlsym(h, "cuDeviceGetCount");
    cu_int_fn version = (cu_int_fn)dlsym(h, "cuDriverGetVersion");
    if (!init || !count) {
        snprintf(buf, n, NONE "; libcuda.so.1 lacks cuInit or cuDeviceGetCount)");
        return 0;
    }
    int r = init(0), devices = 0, v = 0;
    if (r == 0)
        r = count(&devices);
    if (r != 0 || devices <= 0) {
        if (r == 0 || r == CUDA_ERROR_NO_DEVICE)
            snprintf(buf, n, NONE "; CUDA driver found, no device)");
        else
            snprintf(buf, n, NONE "; CUDA driver found, but it failed with error %d)", r);
        return 0;
    }
    if (version && version(&v) == 0)
        snprintf(buf, n, "GPU: CUDA driver %d.%d, %d device%s: ", v / 1000, v % 1000 / 10,
                 devices, devices == 1 ? "" : "s");
    else
        snprintf(buf, n, "GPU: CUDA, %d device%s: ", devices, devices == 1 ? "" : "s");
    size_t prefix = strlen(buf);
    for (int i = 0; i < devices && strlen(buf) + 32 < n; i++)
        describe_device(h, i, buf + prefix, n - prefix);
    return devices;
}

/* Reads until EOF (true) or the deadline (false). */
static bool read_reply(int fd, char *buf, size_t n) {
    size_t got = 0;
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    while (got + 1 < n) {
        struct timespec t;
        clock_gettime(CLOCK_MONOTONIC, &t);
        long left = QUERY_TIMEOUT_MS - ((t.tv_sec - t0.tv_sec) * 1000 +
                                        (t.tv_nsec - t0.tv_nsec) / 1000000);
        struct pollfd p = {fd, POLLIN, 0};
        int ready = left > 0 ? poll(&p, 1, (int)left) : 0;
        if (ready < 0 && errno == EINTR)
            continue;
        if (ready <= 0)
            break;
        ssize_t r = read(fd, buf + got, n - 1 - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            buf[got] = 0;
            return r == 0;
        }
        got += (size_t)r;
    }
    buf[got] = 0;
    return false;
}

int lf_gpu_describe(char *buf, size_t n) {
    char reply[1024];
    if (!buf || n == 0)
        buf = reply, n = sizeof(reply);
    int fds[2];
    if (pipe(fds) != 0) {
        snprintf(buf, n, NONE "; cannot query the driver: %s)", strerror(errno));
        return 0;
    }
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        close(fds[0]);
        char line[1000];
        int devices = query(line, sizeof(line));
        char out[1024];
        int len = snprintf(out, sizeof(out), "%d\n%s", devices, line);
        if (write(fds[1], out, (size_t)len) < 0)
            _exit(1);
        _exit(0);
    }
    close(fds[1]);
    if (pid < 0) {
        close(fds[0]);
        snprintf(buf, n, NONE "; cannot query the driver: %s)", strerror(errno));
        return 0;
    }
    bool done = read_reply(fds[0], reply, sizeof(reply));
    close(fds[0]);
    int status = 0;
    if (!done)
        kill(pid, SIGKILL);
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    char *nl = strchr(reply, '\n');
    if (!nl || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        snprintf(buf, n, NONE "; the CUDA driver %s while being queried)",
                 WIFSIGNALED(status) && WTERMSIG(status) != SIGKILL ? "crashed" : "hung");
        return 0;
    }
    int devices = atoi(reply);
    snprintf(buf, n, "%s", nl + 1);
    return devices;
}
