/* Maps of whole files and of byte ranges at unaligned offsets. */
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include "../harness.h"
#include "base/error.h"
#include "platform/mapfile.h"

int main(void) {
    char path[] = "/tmp/lf_test_mapXXXXXX";
    int fd = mkstemp(path);
    if (fd < 0)
        return 1;
    enum { N = 3 * 4096 + 123 };
    static unsigned char bytes[N];
    for (int i = 0; i < N; i++)
        bytes[i] = (unsigned char)(i * 7 + 3);
    if (write(fd, bytes, N) != N)
        return 1;

    lf_map m;
    lf_error err = {{0}};

    TEST_BEGIN("map whole file");
    EXPECT(lf_map_file(&m, path, &err), "%s", err.msg);
    EXPECT(m.size == N && !memcmp(m.data, bytes, N), "contents differ");
    lf_unmap(&m);
    TEST_END();

    TEST_BEGIN("map range at an unaligned offset");
    EXPECT(lf_map_range(&m, fd, 4096 + 17, 5000, "f", &err), "%s", err.msg);
    EXPECT(m.size == 5000 && !memcmp(m.data, bytes + 4096 + 17, 5000), "contents differ");
    lf_unmap(&m);
    TEST_END();

    TEST_BEGIN("range past the end is an error");
    EXPECT(!lf_map_range(&m, fd, N - 10, 11, "f", &err), "mapped past the end");
    EXPECT(strstr(err.msg, "past the end") != NULL, "message: %s", err.msg);
    EXPECT(!lf_map_range(&m, fd, UINT64_MAX - 5, 10, "f", &err), "overflowing range accepted");
    TEST_END();

    TEST_BEGIN("missing file and directory give errors");
    EXPECT(!lf_map_file(&m, "/nonexistent/x.gguf", &err), "opened a missing file");
    EXPECT(strstr(err.msg, "/nonexistent/x.gguf") != NULL, "message lacks the path: %s", err.msg);
    EXPECT(!lf_map_file(&m, "/tmp", &err) && strstr(err.msg, "directory"), "message: %s", err.msg);
    TEST_END();

    TEST_BEGIN("empty file maps to nothing");
    int fd2 = open(path, O_WRONLY | O_TRUNC);
    close(fd2);
    EXPECT(lf_map_file(&m, path, &err) && m.size == 0, "%s", err.msg);
    lf_unmap(&m);
    TEST_END();

    close(fd);
    unlink(path);
    return test_summary();
}
