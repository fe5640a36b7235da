/* fuzz_glob.c: fuzzes the Redis glob matcher with (pattern, string)
 * pairs: the first byte gives the pattern's share of the input. Besides
 * never crashing or hanging (libFuzzer's -timeout), it must agree with
 * plain comparison for patterns without metacharacters, match every
 * non-empty string with "*", and match a string against itself escaped. */
#include <string.h>

#include "fuzz.h"
#include "glob.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t plen, slen;
    char *pat, *str, *esc;

    if (size < 1 || size > 8192)
        return 0;
    plen = (size - 1) * data[0] / 255;
    slen = size - 1 - plen;
    /* Exactly sized copies: the matcher is binary-safe and must not look
     * for a NUL past either buffer. */
    pat = malloc(plen ? plen : 1);
    str = malloc(slen ? slen : 1);
    esc = malloc(2 * slen + 1);
    FUZZ_CHECK(pat && str && esc);
    if (plen > 0)
        memcpy(pat, data + 1, plen);
    if (slen > 0)
        memcpy(str, data + 1 + plen, slen);

    int hit = bc_glob_match(pat, plen, str, slen);
    FUZZ_CHECK(hit == 0 || hit == 1);
    FUZZ_CHECK(bc_glob_match(pat, plen, str, slen) == hit);

    if (memchr(pat, '*', plen) == NULL && memchr(pat, '?', plen) == NULL &&
        memchr(pat, '[', plen) == NULL && memchr(pat, '\\', plen) == NULL)
        FUZZ_CHECK(hit == (plen == slen && memcmp(pat, str, plen) == 0));

    FUZZ_CHECK(bc_glob_match("*", 1, str, slen) == (slen > 0));
    FUZZ_CHECK(bc_glob_match(str, slen, "", 0) == (slen == 0));

    /* Every byte escaped: the pattern matches exactly the string. */
    size_t n = 0;
    for (size_t i = 0; i < slen; i++) {
        esc[n++] = '\\';
        esc[n++] = str[i];
    }
    FUZZ_CHECK(bc_glob_match(esc, n, str, slen) == 1);
    if (slen > 0)
        FUZZ_CHECK(bc_glob_match(esc, n, str, slen - 1) == 0);

    free(esc);
    free(str);
    free(pat);
    return 0;
}
