/*
 * test_stream.c - the pieces of the Redis stream input and destination
 * that need no server: redis:// URLs (base/redis.h) and a stream entry
 * made a story (live/stream_entry.h).  The server side is tested against
 * a real redis-server by tests/cli/test_stream.sh.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "base/redis.h"
#include "live/stream_entry.h"
#include "support.h"

static void urls_are_parsed(void **state)
{
    (void)state;
    cd_redis_addr a;
    cd_error e;
    assert_int_equal(cdi_redis_parse_url("redis://127.0.0.1:6380/2", &a, &e), CD_OK);
    assert_string_equal(a.host, "127.0.0.1");
    assert_int_equal(a.port, 6380);
    assert_int_equal(a.db, 2);
    assert_int_equal(cdi_redis_parse_url("redis://cache", &a, &e), CD_OK);
    assert_int_equal(a.port, 6379);
    assert_int_equal(a.db, 0);
    assert_int_equal(cdi_redis_parse_url("redis://:s3cret@h/", &a, &e), CD_OK);
    assert_string_equal(a.password, "s3cret");
    assert_string_equal(a.user, "");
    assert_int_equal(cdi_redis_parse_url("redis://bob:pw@[::1]:7000/1", &a, &e), CD_OK);
    assert_string_equal(a.user, "bob");
    assert_string_equal(a.password, "pw");
    assert_string_equal(a.host, "::1");
    assert_int_equal(a.port, 7000);
    const char *bad[] = { "http://h/", "redis://", "redis://h:0/", "redis://h:65536",
                          "redis://h:x/", "redis://h/db", "redis://h/1?x=1", "redis://[::1/",
                          NULL };
    for (const char **u = bad; *u; u++)
        assert_int_not_equal(cdi_redis_parse_url(*u, &a, &e), CD_OK);
}

static cd_status entry(size_t n, const char *const *kv, cd_story *s, cd_error *e)
{
    const char *names[8], *values[8];
    size_t nl[8], vl[8];
    for (size_t i = 0; i < n; i++) {
        names[i] = kv[2 * i];
        values[i] = kv[2 * i + 1];
        nl[i] = strlen(names[i]);
        vl[i] = strlen(values[i]);
    }
    return cdi_stream_entry_story(n, names, nl, values, vl, "stream:w/1-0", s, e);
}

static void entries_become_stories(void **state)
{
    (void)state;
    cd_story s;
    cd_error e;
    const char *ok[] = { "story", "{\"id\":\"a1\",\"title\":\"T\",\"body\":\"B\",\"meta\":{\"desk\":\"own\"}}",
                         "desk", "entry", "site", "paris" };
    assert_int_equal(entry(3, ok, &s, &e), CD_OK);
    assert_string_equal(s.id, "a1");
    assert_string_equal(s.title, "T");
    /* the entry's fields join the metadata; the story's own value wins */
    assert_non_null(strstr(s.meta_json, "\"desk\":\"own\""));
    assert_non_null(strstr(s.meta_json, "\"site\":\"paris\""));
    assert_null(strstr(s.meta_json, "\"entry\""));
    cd_story_clear(&s);

    const char *noid[] = { "story", "{\"title\":\"T\",\"body\":\"B\"}" };
    assert_int_equal(entry(1, noid, &s, &e), CD_OK);
    assert_string_equal(s.id, "stream:w/1-0");
    cd_story_clear(&s);

    const char *none[] = { "note", "x" };
    assert_int_equal(entry(1, none, &s, &e), CD_ERR_FORMAT);
    assert_non_null(strstr(e.msg, "no field story"));
    const char *twice[] = { "story", "{}", "story", "{}" };
    assert_int_equal(entry(2, twice, &s, &e), CD_ERR_FORMAT);
    assert_non_null(strstr(e.msg, "twice"));
    const char *broken[] = { "story", "{\"id\": broken" };
    assert_int_equal(entry(1, broken, &s, &e), CD_ERR_FORMAT);
    assert_non_null(strstr(e.msg, "field story, byte"));
    const char *array[] = { "story", "[1,2]" };
    assert_int_not_equal(entry(1, array, &s, &e), CD_OK);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(urls_are_parsed),
        cmocka_unit_test(entries_become_stories),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
