/* self_exe.h — finding and opening the running executable. */
#ifndef LF_PLATFORM_SELF_EXE_H
#define LF_PLATFORM_SELF_EXE_H

#include "llamafile.h"

/* Opens the running executable read-only (close-on-exec); -1 on failure
 * with err set. The path it was found under goes in name (n bytes). */
int lf_self_exe_open(char *name, size_t n, lf_error *err);

/* Bytes an ELF64 file's own image spans (headers, segments, sections), so
 * that anything beyond is appended data; 0 if fd is not an ELF64 file. */
uint64_t lf_elf_image_end(int fd);

#endif
