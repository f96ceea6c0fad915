/* fuzz_main.h - the replay driver shared by the fuzz targets.

   With -fsanitize=fuzzer, libFuzzer supplies main() and calls
   LLVMFuzzerTestOneInput. Built with -DWP_FUZZ_REPLAY instead (gcc or clang,
   no libFuzzer), FUZZ_REPLAY_MAIN(name) defines a main() that runs every
   file named on the command line, and every file inside a named directory,
   through LLVMFuzzerTestOneInput once. A failed check aborts (as under the
   fuzzer); when every input ran, it prints "<name>: N inputs" and the
   runner's summary line "N passed, 0 failed". */
#ifndef WP_FUZZ_MAIN_H
#define WP_FUZZ_MAIN_H

#ifdef WP_FUZZ_REPLAY
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int wp_fuzz_run_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "cannot open %s\n", path);
        return -1;
    }
    size_t cap = 4096, n = 0;
    uint8_t *buf = (uint8_t *)malloc(cap);
    size_t got;
    while (buf && (got = fread(buf + n, 1, cap - n, f)) > 0) {
        n += got;
        if (n == cap) {
            uint8_t *bigger = (uint8_t *)realloc(buf, cap * 2);
            if (!bigger) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = bigger;
            cap *= 2;
        }
    }
    fclose(f);
    if (!buf)
        return -1;
    LLVMFuzzerTestOneInput(buf, n);
    free(buf);
    return 0;
}

/* Runs a file, or each regular file of a directory; returns the count run
   or -1 on an unreadable path. */
static int wp_fuzz_run_path(const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        fprintf(stderr, "cannot stat %s\n", path);
        return -1;
    }
    if (!S_ISDIR(st.st_mode))
        return wp_fuzz_run_file(path) == 0 ? 1 : -1;
    DIR *d = opendir(path);
    if (!d)
        return -1;
    int count = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        char full[4096];
        if (e->d_name[0] == '.')
            continue;
        snprintf(full, sizeof full, "%s/%s", path, e->d_name);
        if (stat(full, &st) != 0 || !S_ISREG(st.st_mode))
            continue;
        if (wp_fuzz_run_file(full) != 0) {
            count = -1;
            break;
        }
        count++;
    }
    closedir(d);
    return count;
}

#define FUZZ_REPLAY_MAIN(name)                                                 \
    int main(int argc, char **argv)                                            \
    {                                                                          \
        int total = 0;                                                         \
        for (int i = 1; i < argc; i++) {                                       \
            int n = wp_fuzz_run_path(argv[i]);                                 \
            if (n < 0) {                                                       \
                printf("0 passed, 1 failed\n");                                \
                return 1;                                                      \
            }                                                                  \
            total += n;                                                        \
        }                                                                      \
        printf("%s: %d inputs replayed\n", name, total);                       \
        printf("%d passed, 0 failed\n", total);                                \
        return total > 0 ? 0 : 1;                                              \
    }
#else
#define FUZZ_REPLAY_MAIN(name)
#endif

#endif
