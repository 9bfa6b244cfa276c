/* Operations on secrets: comparison that does not leak timing, and wiping. */
#ifndef PB_UTIL_SECURE_H
#define PB_UTIL_SECURE_H

#include <stdbool.h>
#include <stddef.h>

/* Compares n bytes in time that depends on n only. */
bool secure_equal(const void *a, const void *b, size_t n);

/* Compares two C strings; time depends on their lengths, never on where they differ. */
bool secure_streq(const char *a, const char *b);

/* Overwrites n bytes with zeros in a way the compiler may not drop. */
void secure_wipe(void *p, size_t n);

/* Wipes and frees a NUL-terminated secret; NULL is fine. */
void secure_free_str(char *s);

#endif
