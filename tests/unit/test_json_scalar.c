/*
 * test_json_scalar.c - test_json.c's tests over the escaper's portable
 * path (the one without SSE2): json.c built here with CDI_JSON_SCALAR,
 * whose functions then stand for the library's in this program.
 */
#define CDI_JSON_SCALAR 1
#include "base/json.c"
#ifdef JSON_SSE2
#error "json.c took its vector path: this test is for the portable one"
#endif

#include "test_json.c"
