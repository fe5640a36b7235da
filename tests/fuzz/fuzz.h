/* fuzz.h: what the fuzz harnesses share: the libFuzzer entry point's
 * prototype and an invariant check that stays on under NDEBUG. */
#ifndef BOCACHE_FUZZ_H
#define BOCACHE_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A broken invariant is a finding: say which one and abort, so libFuzzer
 * saves the input and the replay test fails. */
#define FUZZ_CHECK(cond)                                                       \
    do {                                                                       \
        if (!(cond)) {                                                         \
            fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__,         \
                    __LINE__, #cond);                                          \
            abort();                                                           \
        }                                                                      \
    } while (0)

#endif
