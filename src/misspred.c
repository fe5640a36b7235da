/* misspred.c: one saturating miss counter per endpoint slot. A hit resets
 * it, so a single hit ends the guess: a wrong guess costs a lease write
 * and its release, which is dearer than the round trip a right one saves. */
#include "misspred.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define SLOTS 64 /* a power of two */

struct bc_misspred {
    uint8_t streak[SLOTS];
};

bc_misspred *bc_misspred_new(void)
{
    return calloc(1, sizeof(bc_misspred));
}

void bc_misspred_free(bc_misspred *p)
{
    free(p);
}

int bc_misspred_expect_miss(const bc_misspred *p, size_t ep)
{
    return p->streak[ep & (SLOTS - 1)] >= BC_MISSPRED_STREAK;
}

void bc_misspred_learn(bc_misspred *p, size_t ep, int missed)
{
    uint8_t *s = &p->streak[ep & (SLOTS - 1)];
    if (!missed)
        *s = 0;
    else if (*s < BC_MISSPRED_STREAK)
        (*s)++;
}

void bc_misspred_reset(bc_misspred *p)
{
    memset(p->streak, 0, sizeof p->streak);
}
