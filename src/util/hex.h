/* Hexadecimal digits: one encoder and one decoder for the whole program. */
#ifndef PB_UTIL_HEX_H
#define PB_UTIL_HEX_H

#include <stdbool.h>
#include <stddef.h>

/* Returns the value of hex digit c (either case), or -1 when c is not one. */
int hex_value(unsigned char c);

/* Writes 2*n lower-case digits for in[0..n) and a NUL into out (2*n+1 bytes). */
void hex_encode(const void *in, size_t n, char *out);

/* Decodes exactly 2*n digits of s into out[0..n). false on any non-digit. */
bool hex_decode(const char *s, size_t n, unsigned char *out);

#endif
