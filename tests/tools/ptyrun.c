/* ptyrun.c — runs a command under a pseudo-terminal and drives it with a
 * script, for tests of interactive programs (the chatbot).
 *
 *   ptyrun [-t MS] [-o TRANSCRIPT] [-f SCRIPT] [-e STEP]... -- CMD [ARG]...
 *
 * Steps, one per -e or per line of -f (blank lines and # comments skipped):
 *   send TEXT     writes TEXT to the terminal; escapes \n \r \t \e \\ \xHH
 *                 (\x03 is Ctrl-C, \x04 Ctrl-D)
 *   expect REGEX  waits until the output seen since the last match matches
 *                 the POSIX extended REGEX (REG_NEWLINE); the match and
 *                 everything before it are then consumed
 *   sleep MS      waits MS milliseconds (reading the output meanwhile)
 *   raw           waits until the terminal leaves canonical mode: a line
 *                 editor (libedit) has taken it, so a control key sent now
 *                 reaches the editor, not the kernel's line discipline
 *   wait STATUS   waits for the command to end with STATUS (its exit code,
 *                 or 128 + the signal that killed it, as a shell says)
 *   timeout MS    the limit for the following expect / wait steps
 * Every wait is bounded: -t MS (default 10000) per step. At the end of the
 * script a command still running is killed. Exit status: 0 when every step
 * succeeded; 1 with one line on stderr ("ptyrun: step N (expect ...): ...")
 * when one failed; 2 for bad usage. The whole output goes to TRANSCRIPT. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <regex.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

enum { MAX_STEPS = 4096, MAX_SEEN = 1 << 20 };

static int g_master = -1;
static pid_t g_pid = -1;
static int g_status = -1; /* shell-style status once the command ended */
static bool g_eof;        /* the terminal has no writer left */
static FILE *g_transcript;
static char g_seen[MAX_SEEN + 1];
static size_t g_n_seen;

static int64_t now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void kill_child(void) {
    if (g_pid > 0 && g_status < 0) {
        kill(-g_pid, SIGKILL);
        kill(g_pid, SIGKILL);
        int st;
        if (waitpid(g_pid, &st, 0) == g_pid)
            g_status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    }
}

/* The tail of the unconsumed output, printable, for messages. */
static const char *seen_tail(void) {
    static char out[256];
    size_t from = g_n_seen > 120 ? g_n_seen - 120 : 0, k = 0;
    for (size_t i = from; i < g_n_seen && k + 5 < sizeof out; i++) {
        unsigned char c = (unsigned char)g_seen[i];
        if (c >= 32 && c < 127 && c != '\\')
            out[k++] = (char)c;
        else
            k += (size_t)snprintf(out + k, sizeof out - k, c == '\n' ? "\\n" : "\\x%02x", c);
    }
    out[k] = 0;
    return out;
}

static int fail(int step, const char *line, const char *fmt, ...) {
    char why[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    fprintf(stderr, "ptyrun: step %d (%.80s): %s; output since the last match: \"%s\"\n", step,
            line, why, seen_tail());
    kill_child();
    return 1;
}

static void reap(void) {
    int st;
    if (g_status < 0 && waitpid(g_pid, &st, WNOHANG) == g_pid)
        g_status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* Reads what the terminal has for up to ms milliseconds (0: what is there). */
static void pump(int ms) {
    if (g_eof) {
        if (ms > 0)
            poll(NULL, 0, ms);
        reap();
        return;
    }
    struct pollfd p = {.fd = g_master, .events = POLLIN};
    if (poll(&p, 1, ms) > 0) {
        char buf[4096];
        ssize_t n = read(g_master, buf, sizeof buf);
        if (n > 0) {
            if (g_transcript)
                fwrite(buf, 1, (size_t)n, g_transcript), fflush(g_transcript);
            if (g_n_seen + (size_t)n > MAX_SEEN) { /* keep the newer half */
                size_t drop = g_n_seen - MAX_SEEN / 2;
                memmove(g_seen, g_seen + drop, g_n_seen - drop);
                g_n_seen -= drop;
            }
            memcpy(g_seen + g_n_seen, buf, (size_t)n);
            g_n_seen += (size_t)n;
        } else if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
            g_eof = true; /* EIO: the command and its children closed the terminal */
        }
    }
    reap();
}

/* Decodes send's escapes into out (at most as long as s); returns the length. */
static long unescape(const char *s, char *out) {
    size_t k = 0;
    for (; *s; s++) {
        if (*s != '\\') {
            out[k++] = *s;
            continue;
        }
        switch (*++s) {
        case 'n': out[k++] = '\n'; break;
        case 'r': out[k++] = '\r'; break;
        case 't': out[k++] = '\t'; break;
        case 'e': out[k++] = 27; break;
        case '\\': out[k++] = '\\'; break;
        case 'x': {
            char hex[3] = {s[1], s[1] ? s[2] : 0, 0}, *end;
            long v = strtol(hex, &end, 16);
            if (end != hex + 2)
                return -1;
            out[k++] = (char)v;
            s += 2;
            break;
        }
        default: return -1;
        }
    }
    return (long)k;
}

static bool parse_ms(const char *s, long *out) {
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < 0 || v > 3600000)
        return false;
    *out = v;
    return true;
}

static int run_step(int step, const char *line, long *timeout) {
    const char *sp = strchr(line, ' ');
    size_t kw = sp ? (size_t)(sp - line) : strlen(line);
    const char *arg = sp ? sp + 1 : "";
    long v;
    if (kw == 4 && !memcmp(line, "send", 4)) {
        char *buf = malloc(strlen(arg) + 1);
        long n = buf ? unescape(arg, buf) : -1;
        for (long off = 0, t0 = now_ms(); n >= 0 && off < n;) {
            ssize_t w = write(g_master, buf + off, (size_t)(n - off));
            if (w > 0)
                off += w;
            else if (w < 0 && errno != EAGAIN && errno != EINTR)
                n = -2;
            else if (now_ms() - t0 > *timeout)
                n = -3;
            else
                pump(10); /* the terminal is full: let the command read */
        }
        free(buf);
        if (n < 0)
            return fail(step, line, n == -1 ? "bad escape" : n == -2 ? "write failed: %s"
                                                                     : "the command reads nothing",
                        strerror(errno));
        return 0;
    }
    if (kw == 6 && !memcmp(line, "expect", 6)) {
        regex_t re;
        int rc = regcomp(&re, arg, REG_EXTENDED | REG_NEWLINE);
        if (rc) {
            char why[200];
            regerror(rc, &re, why, sizeof why);
            return fail(step, line, "bad regex: %s", why);
        }
        int64_t t_end = now_ms() + *timeout;
        for (;;) {
            regmatch_t m;
            for (size_t i = 0; i < g_n_seen; i++) /* regexec reads a C string */
                if (!g_seen[i])
                    g_seen[i] = ' ';
            g_seen[g_n_seen] = 0;
            if (regexec(&re, g_seen, 1, &m, 0) == 0) {
                size_t e = (size_t)m.rm_eo;
                memmove(g_seen, g_seen + e, g_n_seen - e);
                g_n_seen -= e;
                regfree(&re);
                return 0;
            }
            int64_t left = t_end - now_ms();
            if (left <= 0 || (g_eof && g_status >= 0)) {
                regfree(&re);
                if (g_status >= 0)
                    return fail(step, line, "the command ended (status %d) without a match",
                                g_status);
                return fail(step, line, "no match after %ld ms", *timeout);
            }
            pump(left < 50 ? (int)left : 50);
        }
    }
    if (kw == 5 && !memcmp(line, "sleep", 5) && parse_ms(arg, &v)) {
        for (int64_t t_end = now_ms() + v, left; (left = t_end - now_ms()) > 0;)
            pump(left < 50 ? (int)left : 50);
        return 0;
    }
    if (kw == 4 && !memcmp(line, "wait", 4) && parse_ms(arg, &v)) {
        for (int64_t t_end = now_ms() + *timeout; g_status < 0 && now_ms() < t_end;)
            pump(20);
        if (g_status < 0)
            return fail(step, line, "still running after %ld ms", *timeout);
        if (g_status != v)
            return fail(step, line, "exit status %d", g_status);
        return 0;
    }
    if (kw == 3 && !memcmp(line, "raw", 3) && !*arg) {
        /* On Linux the master reports the terminal's settings. */
        struct termios t;
        for (int64_t t_end = now_ms() + *timeout;; pump(5)) {
            if (tcgetattr(g_master, &t) == 0 && !(t.c_lflag & ICANON))
                return 0;
            if (g_status >= 0)
                return fail(step, line, "the command ended (status %d)", g_status);
            if (now_ms() > t_end)
                return fail(step, line, "still canonical after %ld ms", *timeout);
        }
    }
    if (kw == 7 && !memcmp(line, "timeout", 7) && parse_ms(arg, &v)) {
        *timeout = v;
        return 0;
    }
    fprintf(stderr,
            "ptyrun: step %d: cannot read \"%.80s\" (send, expect, sleep, raw, wait, timeout)\n",
            step, line);
    kill_child();
    return 2;
}

static pid_t spawn(char **argv) {
    g_master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (g_master < 0 || grantpt(g_master) || unlockpt(g_master))
        return -1;
    const char *name = ptsname(g_master);
    if (!name)
        return -1;
    pid_t pid = fork();
    if (pid != 0)
        return pid;
    setsid();
    int s = open(name, O_RDWR);
    if (s < 0 || ioctl(s, TIOCSCTTY, 0) < 0)
        _exit(127);
    struct winsize ws = {.ws_row = 24, .ws_col = 80};
    ioctl(s, TIOCSWINSZ, &ws);
    dup2(s, 0), dup2(s, 1), dup2(s, 2);
    if (s > 2)
        close(s);
    signal(SIGINT, SIG_DFL);
    signal(SIGQUIT, SIG_DFL);
    signal(SIGPIPE, SIG_DFL);
    execvp(argv[0], argv);
    fprintf(stderr, "ptyrun: %s: %s\n", argv[0], strerror(errno));
    _exit(127);
}

static int usage(const char *why) {
    fprintf(stderr,
            "ptyrun: %s\nusage: ptyrun [-t MS] [-o TRANSCRIPT] [-f SCRIPT] [-e STEP]... -- CMD "
            "[ARG]...\n",
            why);
    return 2;
}

int main(int argc, char **argv) {
    static char *steps[MAX_STEPS];
    int n_steps = 0, i = 1;
    long timeout = 10000;
    char *script = NULL;
    for (; i < argc && strcmp(argv[i], "--"); i++) {
        const char *a = argv[i];
        if (i + 1 >= argc)
            return usage("an option needs a value");
        const char *v = argv[++i];
        if (!strcmp(a, "-t")) {
            if (!parse_ms(v, &timeout))
                return usage("bad -t");
        } else if (!strcmp(a, "-o")) {
            if (!(g_transcript = fopen(v, "w")))
                return usage("cannot open the transcript file");
        } else if (!strcmp(a, "-e")) {
            if (n_steps == MAX_STEPS)
                return usage("too many steps");
            steps[n_steps++] = (char *)v;
        } else if (!strcmp(a, "-f")) {
            FILE *f = fopen(v, "r");
            if (!f)
                return usage("cannot read the script file");
            size_t n = 0;
            script = calloc(1, 1 << 20);
            n = script ? fread(script, 1, (1 << 20) - 1, f) : 0;
            fclose(f);
            for (char *line = script, *nl; line && line < script + n; line = nl + 1) {
                nl = strchr(line, '\n');
                if (!nl)
                    nl = line + strlen(line);
                *nl = 0;
                if (*line && *line != '#' && n_steps < MAX_STEPS)
                    steps[n_steps++] = line;
            }
        } else {
            return usage("unknown option");
        }
    }
    if (i + 1 >= argc)
        return usage("no command after --");
    signal(SIGPIPE, SIG_IGN);
    if ((g_pid = spawn(argv + i + 1)) < 0) {
        fprintf(stderr, "ptyrun: cannot start a pseudo-terminal: %s\n", strerror(errno));
        return 1;
    }
    int rc = 0;
    for (int s = 0; s < n_steps && !rc; s++)
        rc = run_step(s + 1, steps[s], &timeout);
    pump(0);
    kill_child();
    for (int k = 0; k < 100 && !g_eof; k++) /* the last output, for the transcript */
        pump(10);
    if (g_transcript)
        fclose(g_transcript);
    free(script);
    return rc;
}
