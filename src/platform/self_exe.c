/* self_exe.c — the running executable, through /proc/self/exe (which still
 * opens after the file was renamed or deleted), else the path the kernel
 * was asked to execute (AT_EXECFN). */
#include "platform/self_exe.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/auxv.h>
#include <unistd.h>

#include "base/error.h"

bool lf_self_exe_path(char *buf, size_t n, lf_error *err) {
    if (n == 0)
        return lf_fail(err, "executable path: no room");
    ssize_t r = readlink("/proc/self/exe", buf, n);
    if (r > 0 && (size_t)r < n) {
        buf[r] = 0;
        return true;
    }
    if (r >= 0)
        return lf_fail(err, "executable path: longer than %zu bytes", n - 1);
    const char *fn = (const char *)getauxval(AT_EXECFN);
    if (fn && strlen(fn) < n) {
        memcpy(buf, fn, strlen(fn) + 1);
        return true;
    }
    return lf_fail(err, "executable path: cannot read /proc/self/exe: %s", strerror(errno));
}

int lf_self_exe_open(char *name, size_t n, lf_error *err) {
    if (!lf_self_exe_path(name, n, err))
        return -1;
    int fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        fd = open(name, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        lf_fail(err, "%s: cannot open the running executable: %s", name, strerror(errno));
    return fd;
}

/* The end of the ELF image is the furthest of its program headers, section
 * contents and section header table; zipalign appends after it. */
uint64_t lf_elf_image_end(int fd) {
    Elf64_Ehdr eh;
    if (pread(fd, &eh, sizeof eh, 0) != (ssize_t)sizeof eh || memcmp(eh.e_ident, ELFMAG, SELFMAG) ||
        eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_phentsize != sizeof(Elf64_Phdr) ||
        (eh.e_shnum && eh.e_shentsize != sizeof(Elf64_Shdr)))
        return 0;
    uint64_t end = eh.e_shoff + (uint64_t)eh.e_shnum * sizeof(Elf64_Shdr);
    for (int i = 0; i < eh.e_phnum; i++) {
        Elf64_Phdr ph;
        if (pread(fd, &ph, sizeof ph, (off_t)(eh.e_phoff + (uint64_t)i * sizeof ph)) != sizeof ph)
            return 0;
        if (ph.p_offset + ph.p_filesz > end)
            end = ph.p_offset + ph.p_filesz;
    }
    for (int i = 0; i < eh.e_shnum; i++) {
        Elf64_Shdr sh;
        if (pread(fd, &sh, sizeof sh, (off_t)(eh.e_shoff + (uint64_t)i * sizeof sh)) != sizeof sh)
            return 0;
        if (sh.sh_type != SHT_NOBITS && sh.sh_offset + sh.sh_size > end)
            end = sh.sh_offset + sh.sh_size;
    }
    return end;
}
