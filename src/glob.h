/* glob.h: Redis glob matching (the MATCH of KEYS, SCAN and PSUBSCRIBE), so
 * that in-memory entries are invalidated by exactly the keys Redis would
 * find. No I/O. */
#ifndef BOCACHE_GLOB_H
#define BOCACHE_GLOB_H

#include <stddef.h>

/* Nonzero when STR[0..SLEN) matches PATTERN[0..PLEN), with the semantics
 * of Redis 7's stringmatchlen() (case-sensitive), byte for byte; both are
 * binary-safe and need no NUL terminator.
 *
 *   *        any run of bytes; consecutive stars count as one
 *   ?        any one byte
 *   [...]    one byte of a set: "[^...]" negates, "a-z" is a range (a
 *            reversed range "z-a" is the same range), "\x" is a literal x;
 *            "]" right after "[" or "[^" closes an empty set. A set left
 *            unterminated ends with the pattern ("[ab" is "[ab]"), and a
 *            range end is never escaped ("[a-]" is the range "]".."a").
 *   \x       a literal x; a backslash that ends the pattern is literal
 *
 * Quirks kept from Redis: an empty STR matches only an empty PATTERN (so
 * "*" does not match ""; KEYS and SCAN special-case "*" before matching);
 * a pattern with more than 1000 star runs followed by more pattern matches
 * nothing (Redis's nesting limit); range bounds compare as signed char, as
 * Redis does on x86-64. Runs in O(PLEN * SLEN) time and constant space. */
int bc_glob_match(const char *pattern, size_t plen, const char *str,
                  size_t slen);

#endif
