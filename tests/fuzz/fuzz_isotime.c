/*
 * fuzz_isotime.c - libFuzzer target: the ISO 8601 parser of the desk's
 * time functions (core/desk/isotime.h) on any bytes, as a rule's
 * story.meta.embargo or an expect case's now may hold anything.
 *
 * A time that parses is finite and within years 1..9999 (give or take a
 * zone); formatting it and parsing the text again gives the same whole
 * second.
 */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "desk/isotime.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    double t;
    if (cdi_iso8601_parse((const char *)data, size, &t) != 0)
        return 0;
    if (!isfinite(t) || t < -62135596800.0 - 86400 || t > 253402300800.0 + 86400)
        abort();
    char buf[40];
    cdi_iso8601_format(t, buf, sizeof buf);
    if (strcmp(buf, "invalid") == 0)
        return 0;   /* a zone pushed it just outside years 1..9999 */
    double again;
    if (cdi_iso8601_parse(buf, strlen(buf), &again) != 0 || again != floor(t))
        abort();
    return 0;
}
