#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>

#include "util/strnum.h"

enum pb_err
strnum_parse(const char *s, int base, long long min, long long max, long long *out)
{
	char *end;
	long long v;

	if (s == NULL || *s == '\0' || isspace((unsigned char)*s) || (*s == '+') ||
	    (*s == '-' && min >= 0))
		return PB_EINVAL;
	errno = 0;
	v = strtoll(s, &end, base);
	if (errno != 0 || *end != '\0' || v < min || v > max)
		return PB_EINVAL;
	*out = v;
	return PB_OK;
}
