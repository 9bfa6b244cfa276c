/* Whole-string number parsing with range checks (in the spirit of strtonum(3)). */
#ifndef PB_UTIL_STRNUM_H
#define PB_UTIL_STRNUM_H

#include "util/err.h"

/*
 * Parses all of s as an integer in base (8, 10 or 16) within [min, max]. Leading white
 * space, signs on unsigned ranges, trailing bytes and overflow are PB_EINVAL.
 */
enum pb_err strnum_parse(const char *s, int base, long long min, long long max, long long *out);

#endif
