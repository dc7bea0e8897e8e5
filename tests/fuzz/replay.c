/*
 * replay.c - a main for the fuzz targets outside the fuzz configuration:
 * built with gcc in release or debug, fuzz_NAME runs its target once on
 * each file named on the command line (a crash input, a seed), so that
 * a reported input can be replayed under gdb or valgrind without clang.
 * The fuzz configuration defines CD_FUZZING and libFuzzer brings main.
 */
#ifndef CD_FUZZING
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
/* Defined by the targets that set up once (a scratch folder, a model, a
 * server); weak so that the others link without it. */
int LLVMFuzzerInitialize(int *argc, char ***argv) __attribute__((weak));

int main(int argc, char **argv)
{
    if (LLVMFuzzerInitialize)
        LLVMFuzzerInitialize(&argc, &argv);
    for (int i = 1; i < argc; i++) {
        FILE *f = fopen(argv[i], "rb");
        if (!f) {
            perror(argv[i]);
            return 2;
        }
        size_t cap = 1 << 16, n = 0, got;
        uint8_t *buf = malloc(cap);
        while (buf && (got = fread(buf + n, 1, cap - n, f)) > 0) {
            n += got;
            if (n == cap) {
                uint8_t *p = realloc(buf, cap * 2);
                if (!p)
                    break;
                buf = p;
                cap *= 2;
            }
        }
        fclose(f);
        if (!buf)
            return 2;
        LLVMFuzzerTestOneInput(buf, n);
        free(buf);
        printf("%s: ran\n", argv[i]);
    }
    return 0;
}
#else
typedef int cd_fuzzing_has_its_own_main;
#endif
