/*
 * test_archive.c - the archive of routed stories (core/live/archive.h):
 * lines read back as the same story with the decision beside it, segments
 * rotate and stay under the size bound, old segments go, a line torn by a
 * crash is cut off on reopening, and appending goes on in the last segment;
 * read back newest first, across segments and blocks, with lines longer
 * than a block, and a line still being written skipped.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "live/archive.h"
#include "support.h"

static const char *const route1[] = { "trade-desk", "wire" };

static void decision(cd_decision *d)
{
    memset(d, 0, sizeof *d);
    d->outcome = CD_OUTCOME_ROUTED;
    d->route = route1;
    d->nroute = 2;
    d->rule = "trade";
    d->reason = "rule 'trade' (desk.lua:3)";
}

/* Segments of the archive of state, in name order; their count. */
static size_t segments(const char *state, char names[][64], size_t max, uint64_t *bytes)
{
    char *dir = cdi_archive_dir(state);
    DIR *d = opendir(dir);
    size_t n = 0;
    *bytes = 0;
    struct dirent *e;
    while (d && (e = readdir(d)))
        if (e->d_name[0] != '.' && n < max) {
            snprintf(names[n++], 64, "%.63s", e->d_name);
            char p[4096];
            struct stat sb;
            snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
            if (stat(p, &sb) == 0)
                *bytes += (uint64_t)sb.st_size;
        }
    if (d)
        closedir(d);
    free(dir);
    for (size_t i = 1; i < n; i++)
        for (size_t j = i; j > 0 && strcmp(names[j - 1], names[j]) > 0; j--) {
            char t[64];
            memcpy(t, names[j], 64);
            memcpy(names[j], names[j - 1], 64);
            memcpy(names[j - 1], t, 64);
        }
    return n;
}

static void test_round_trip(void **state)
{
    (void)state;
    char *dir = scratch_dir();
    cd_archive *a;
    cd_error e;
    assert_int_equal(cdi_archive_open(dir, NULL, &a, &e), CD_OK);
    cd_story s;
    make_story(&s, "id-1", "Tariffs \"rise\"", "Body\nline", "{\"section\":\"asia\",\"n\":3}");
    cd_decision d;
    decision(&d);
    assert_int_equal(cdi_archive_add(a, &s, &d, NULL, 1767225600.0, &e), CD_OK);
    cdi_archive_close(a);
    char names[8][64];
    uint64_t bytes;
    assert_int_equal(segments(dir, names, 8, &bytes), 1);
    assert_true(bytes > 0);
    char *adir = cdi_archive_dir(dir), path[4200];
    snprintf(path, sizeof path, "%.4000s/%.63s", adir, names[0]);
    size_t len;
    char *text = slurp(path, &len);
    assert_non_null(text);
    assert_int_equal(text[len - 1], '\n');
    /* the line is an input line: read it back as the readers do */
    cd_story back;
    assert_int_equal(cd_story_from_json(text, len - 1, "seg:1", &back, NULL, &e), CD_OK);
    char *rec;
    assert_int_equal(cdi_archive_unwrap(&back, &rec), CD_OK);
    assert_string_equal(back.id, "id-1");
    assert_string_equal(back.title, "Tariffs \"rise\"");
    assert_string_equal(back.body, "Body\nline");
    assert_string_equal(back.meta_json, "{\"section\":\"asia\",\"n\":3}");
    assert_non_null(rec);
    assert_non_null(strstr(rec, "\"route\":[\"trade-desk\",\"wire\"]"));
    assert_non_null(strstr(rec, "\"at\":\"2026-01-01T00:00:00Z\""));
    assert_non_null(strstr(rec, "\"outcome\":\"routed\""));
    free(rec);
    cd_story_clear(&back);
    cd_story_clear(&s);
    free(text);
    free(adir);
    scratch_remove(dir);
}

static void test_bounds_and_reopen(void **state)
{
    (void)state;
    char *dir = scratch_dir();
    cd_archive_opts o = { .max_bytes = 1 << 20 };   /* segments of 64 KiB */
    cd_archive *a;
    cd_error e;
    assert_int_equal(cdi_archive_open(dir, &o, &a, &e), CD_OK);
    char body[2000];
    memset(body, 'x', sizeof body - 1);
    body[sizeof body - 1] = '\0';
    cd_story s;
    make_story(&s, "s", "t", body, NULL);
    cd_decision d;
    decision(&d);
    double now = (double)time(NULL);
    for (int i = 0; i < 2000; i++)   /* about 4 MB: four times the bound */
        assert_int_equal(cdi_archive_add(a, &s, &d, NULL, now, &e), CD_OK);
    cdi_archive_close(a);
    char names[64][64];
    uint64_t bytes;
    size_t n = segments(dir, names, 64, &bytes);
    assert_true(n > 2);
    assert_true(bytes <= ((uint64_t)1 << 20) + (64 << 10));
    /* names sort in time order and differ within a second */
    for (size_t i = 1; i < n; i++)
        assert_true(strcmp(names[i - 1], names[i]) < 0);

    /* a torn last line is cut off when reopening, and adding goes on there */
    char *adir = cdi_archive_dir(dir), path[4200];
    snprintf(path, sizeof path, "%.4000s/%.63s", adir, names[n - 1]);
    struct stat sb;
    assert_int_equal(stat(path, &sb), 0);
    FILE *f = fopen(path, "a");
    fputs("{\"id\":\"torn", f);
    fclose(f);
    assert_int_equal(cdi_archive_open(dir, &o, &a, &e), CD_OK);
    struct stat sb2;
    assert_int_equal(stat(path, &sb2), 0);
    assert_int_equal(sb2.st_size, sb.st_size);
    assert_int_equal(cdi_archive_add(a, &s, &d, NULL, now, &e), CD_OK);
    cdi_archive_close(a);
    assert_int_equal(stat(path, &sb2), 0);
    assert_true(sb2.st_size > sb.st_size);

    /* segments older than the age bound go (the newest one stays) */
    cd_archive_opts young = { .max_age_s = 3600, .max_bytes = 1 << 20 };
    struct timespec old[2] = { { .tv_sec = (time_t)now - 7200 }, { .tv_sec = (time_t)now - 7200 } };
    for (size_t i = 0; i + 1 < n; i++) {
        snprintf(path, sizeof path, "%.4000s/%.63s", adir, names[i]);
        assert_int_equal(utimensat(AT_FDCWD, path, old, 0), 0);
    }
    assert_int_equal(cdi_archive_open(dir, &young, &a, &e), CD_OK);
    cdi_archive_close(a);
    assert_int_equal(segments(dir, names, 64, &bytes), 1);
    cd_story_clear(&s);
    free(adir);
    scratch_remove(dir);
}

static void test_unwrap_leaves_other_stories(void **state)
{
    (void)state;
    cd_story s;
    make_story(&s, "x", "t", "b", "{\"archivedx\":1}");
    char *rec = (char *)1;
    assert_int_equal(cdi_archive_unwrap(&s, &rec), CD_OK);
    assert_null(rec);
    assert_string_equal(s.meta_json, "{\"archivedx\":1}");
    cd_story_clear(&s);
}


typedef struct seen {
    int n;
    int order_ok;
    long last;          /* the number of the id seen before */
    size_t big;         /* length of the long story's line */
    int stop_at;
} seen;

static int on_line(void *ud, const char *line, size_t len)
{
    seen *s = ud;
    long k = -1;
    if (sscanf(line, "{\"id\":\"s%ld\"", &k) != 1)
        s->order_ok = 0;
    if (s->n && k != s->last - 1)
        s->order_ok = 0;
    if (len > 200000)
        s->big = len;
    if (line[len - 1] != '}' || memchr(line, '\n', len))
        s->order_ok = 0;
    s->last = k;
    return ++s->n == s->stop_at;
}

static void test_newest_first(void **state)
{
    (void)state;
    char *dir = scratch_dir();
    cd_archive_opts o = { .max_bytes = 1 << 20 };   /* segments of 64 KiB */
    cd_archive *a;
    cd_error e;
    assert_int_equal(cdi_archive_open(dir, &o, &a, &e), CD_OK);
    char *big = malloc(300000);
    memset(big, 'y', 299999);
    big[299999] = '\0';
    cd_decision d;
    decision(&d);
    double now = (double)time(NULL);
    for (int i = 0; i < 3000; i++) {   /* several segments, many blocks */
        char id[16];
        snprintf(id, sizeof id, "s%d", i);
        cd_story s;
        make_story(&s, id, "t", i == 1500 ? big : "a short body", NULL);
        assert_int_equal(cdi_archive_add(a, &s, &d, "\"topics\":[]", now, &e), CD_OK);
        cd_story_clear(&s);
    }
    cdi_archive_close(a);
    /* a line being written, without its newline yet, at the very end */
    char names[256][64];
    uint64_t bytes;
    size_t n = segments(dir, names, 256, &bytes);
    assert_true(n > 2);
    char *adir = cdi_archive_dir(dir), path[4200];
    snprintf(path, sizeof path, "%.4000s/%.63s", adir, names[n - 1]);
    FILE *f = fopen(path, "a");
    fputs("{\"id\":\"s99999\",\"title\":", f);
    fclose(f);
    seen s = { 0, 1, 0, 0, 0 };
    assert_int_equal(cdi_archive_newest_first(dir, on_line, &s, &e), CD_OK);
    assert_int_equal(s.n, 3000);
    assert_true(s.order_ok);
    assert_int_equal(s.last, 0);
    assert_true(s.big > 300000);
    /* the callback stops it */
    seen few = { 0, 1, 0, 0, 10 };
    assert_int_equal(cdi_archive_newest_first(dir, on_line, &few, &e), CD_OK);
    assert_int_equal(few.n, 10);
    assert_int_equal(few.last, 2990);
    /* no archive: nothing, and no error */
    seen none = { 0, 1, 0, 0, 0 };
    assert_int_equal(cdi_archive_newest_first("/nonexistent-state", on_line, &none, &e), CD_OK);
    assert_int_equal(none.n, 0);
    free(big);
    free(adir);
    scratch_remove(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_bounds_and_reopen),
        cmocka_unit_test(test_unwrap_leaves_other_stories),
        cmocka_unit_test(test_newest_first),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
