/*
 * test_deliver.c - the local destinations: folder (atomic files, safe
 * names that no id can use to escape the folder), jsonl (complete
 * appended lines), stdout, and the dead-letter folder.
 */
#define _GNU_SOURCE   /* O_TMPFILE */
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
#include <unistd.h>

#include "base/fs.h"
#include "deliver/deliver.h"
#include "support.h"

static int count_files(const char *dir)
{
    DIR *d = opendir(dir);
    int n = 0;
    if (!d)
        return -1;
    for (struct dirent *e; (e = readdir(d));)
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
            n++;
    closedir(d);
    return n;
}

static void safe_names_stay_in_the_folder(void **state)
{
    (void)state;
    const char *ids[] = { "../../etc/passwd", "..", ".", "", "/abs/path", "a\\b",
                          ".hidden", "x/../../y", "\xff\xfe", "ok-id_1.2" };
    char name[64];
    for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++) {
        cdi_safe_filename(ids[i], name, sizeof name);
        assert_true(name[0] != '\0');
        assert_null(strchr(name, '/'));
        assert_true(name[0] != '.');
    }
    cdi_safe_filename("ok-id_1.2", name, sizeof name);
    assert_string_equal(name, "ok-id_1.2");
    /* ids that differ only in unsafe bytes keep distinct names */
    char other[64];
    cdi_safe_filename("a/b", name, sizeof name);
    cdi_safe_filename("a_b", other, sizeof other);
    assert_string_not_equal(name, other);
    /* a long id is cut, with its hash appended */
    char long_id[600];
    memset(long_id, 'x', sizeof long_id - 1);
    long_id[sizeof long_id - 1] = '\0';
    cdi_safe_filename(long_id, name, sizeof name);
    assert_true(strlen(name) < sizeof name);
}

static void folder_writes_one_file_per_story(void **state)
{
    (void)state;
    char *dir = scratch_dir();
    char path[4096];
    snprintf(path, sizeof path, "%s/desk/deep", dir);
    cd_dest_opts o;
    cdi_dest_opts_default(&o);
    o.kind = CD_DEST_FOLDER;
    o.target = path;
    cd_dest *d;
    cd_error err;
    assert_int_equal(cdi_dest_new(&o, &d, &err), CD_OK);
    assert_int_equal(cdi_dest_deliver(d, "story-1", "{\"id\":\"story-1\"}", 16, &err), CD_OK);
    assert_int_equal(cdi_dest_deliver(d, "../../etc/passwd", "{}", 2, &err), CD_OK);
    assert_int_equal(count_files(path), 2);
    /* nothing was written beside the folder */
    assert_int_equal(count_files(dir), 1);
    char file[4200];
    snprintf(file, sizeof file, "%s/story-1.json", path);
    char *got = slurp(file, NULL);
    assert_non_null(got);
    assert_string_equal(got, "{\"id\":\"story-1\"}\n");
    free(got);
    /* the same id again replaces the file */
    assert_int_equal(cdi_dest_deliver(d, "story-1", "{\"v\":2}", 7, &err), CD_OK);
    assert_int_equal(count_files(path), 2);
    cdi_dest_free(d);
    scratch_remove(dir);
}

/* Two ids whose file names meet (as through a collision of the hash that
 * cdi_safe_filename appends; simulated here by writing the name directly):
 * the second is refused with a clear error, the first story stays; the
 * same id again replaces its file. */
static void story_file_of_another_id_is_never_replaced(void **state)
{
    (void)state;
    char *dir = scratch_dir();
    cd_error err;
    const char a[] = "{\"id\":\"a\\\"b\",\"v\":1}", b[] = "{\"id\":\"a\\\"c\",\"v\":1}";
    assert_int_equal(cdi_story_file_write(dir, "x.json", a, strlen(a), &err), CD_OK);
    assert_int_not_equal(cdi_story_file_write(dir, "x.json", b, strlen(b), &err), CD_OK);
    assert_non_null(strstr(err.msg, "already holds another story"));
    char file[4200];
    snprintf(file, sizeof file, "%s/x.json", dir);
    char *got = slurp(file, NULL);
    assert_non_null(got);
    assert_non_null(strstr(got, "a\\\"b"));
    free(got);
    const char a2[] = "{\"id\":\"a\\\"b\",\"v\":2}";
    assert_int_equal(cdi_story_file_write(dir, "x.json", a2, strlen(a2), &err), CD_OK);
    got = slurp(file, NULL);
    assert_non_null(strstr(got, "\"v\":2"));
    free(got);
    assert_int_equal(count_files(dir), 1);   /* no temporary file left */
    scratch_remove(dir);
}

/* An id kept as is never looks like another id's changed name. */
static void safe_names_are_injective_on_lookalikes(void **state)
{
    (void)state;
    char changed[64], lookalike[64];
    cdi_safe_filename("../../etc/x", changed, sizeof changed);
    cdi_safe_filename(changed, lookalike, sizeof lookalike);
    assert_string_not_equal(changed, lookalike);
    cdi_safe_filename("report-2024", changed, sizeof changed);
    assert_string_equal(changed, "report-2024");
}

/* Whether the file system of dir makes unnamed files (O_TMPFILE). */
static int has_tmpfile(const char *dir)
{
    int fd = open(dir, O_TMPFILE | O_WRONLY | O_CLOEXEC, 0600);
    if (fd < 0)
        return 0;
    close(fd);
    return 1;
}

/* A staged story (written ahead, as route does on its threads) is put in
 * place by its delivery; a staged file that is not delivered (another
 * story came, the destination is freed) is removed.  Where the file
 * system makes unnamed files, a staged story takes no name in the folder
 * (creating a named file locks the folder: two threads staging in one
 * folder waited on each other), and nothing is left when the process
 * dies before delivering it. */
static void staged_story_is_put_in_place(void **state)
{
    (void)state;
    char *dir = scratch_dir();
    char path[4096], file[4200];
    snprintf(path, sizeof path, "%s/out", dir);
    cd_dest_opts o;
    cdi_dest_opts_default(&o);
    o.target = path;
    cd_dest *d;
    cd_error err;
    assert_int_equal(cdi_dest_new(&o, &d, &err), CD_OK);
    static const char a[] = "{\"id\":\"a\"}", b[] = "{\"id\":\"b\"}";
    cdi_dest_stage(d, "a", a, sizeof a - 1);
    int unnamed = has_tmpfile(path);
    /* unnamed, or a temporary file */
    assert_int_equal(count_files(path), unnamed ? 0 : 1);
    snprintf(file, sizeof file, "%s/a.json", path);
    assert_int_equal(access(file, F_OK), -1);
    assert_int_equal(cdi_dest_deliver(d, "a", a, sizeof a - 1, &err), CD_OK);
    assert_int_equal(count_files(path), 1);
    snprintf(file, sizeof file, "%s/a.json", path);
    char *got = slurp(file, NULL);
    assert_non_null(got);
    assert_string_equal(got, "{\"id\":\"a\"}\n");
    free(got);
    /* 0644 less the umask, as any file the user writes */
    mode_t mask = umask(022);
    umask(mask);
    struct stat sb;
    assert_int_equal(stat(file, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0644 & ~mask);
    /* staged, then another story delivered: that one is written, the
     * staged file removed */
    cdi_dest_stage(d, "a", a, sizeof a - 1);
    assert_int_equal(cdi_dest_deliver(d, "b", b, sizeof b - 1, &err), CD_OK);
    assert_int_equal(count_files(path), 2);
    /* the same id with other bytes is not the staged file either */
    cdi_dest_stage(d, "b", b, sizeof b - 1);
    static const char b2[] = "{\"id\":\"b\",\"v\":2}";
    assert_int_equal(cdi_dest_deliver(d, "b", b2, sizeof b2 - 1, &err), CD_OK);
    assert_int_equal(count_files(path), 2);
    snprintf(file, sizeof file, "%s/b.json", path);
    got = slurp(file, NULL);
    assert_string_equal(got, "{\"id\":\"b\",\"v\":2}\n");
    free(got);
    /* the same story again, staged: its file is replaced */
    static const char b3[] = "{\"id\":\"b\",\"v\":3}";
    cdi_dest_stage(d, "b", b3, sizeof b3 - 1);
    assert_int_equal(cdi_dest_deliver(d, "b", b3, sizeof b3 - 1, &err), CD_OK);
    got = slurp(file, NULL);
    assert_string_equal(got, "{\"id\":\"b\",\"v\":3}\n");
    free(got);
    assert_int_equal(count_files(path), 2);
    /* staged and never delivered */
    cdi_dest_stage(d, "c", "{}", 2);
    assert_int_equal(count_files(path), unnamed ? 2 : 3);
    cdi_dest_free(d);
    assert_int_equal(count_files(path), 2);
    scratch_remove(dir);
}

static void folder_that_cannot_be_made_fails(void **state)
{
    (void)state;
    char *dir = scratch_dir();
    char blocker[4096], path[4200];
    snprintf(blocker, sizeof blocker, "%s/file", dir);
    assert_int_equal(spit(blocker, "x", 1), 0);
    snprintf(path, sizeof path, "%s/sub", blocker);
    cd_dest_opts o;
    cdi_dest_opts_default(&o);
    o.target = path;
    cd_dest *d;
    cd_error err;
    assert_int_equal(cdi_dest_new(&o, &d, &err), CD_OK);
    assert_int_equal(cdi_dest_deliver(d, "s", "{}", 2, &err), CD_ERR_IO);
    assert_non_null(strstr(err.msg, blocker));
    cdi_dest_free(d);
    scratch_remove(dir);
}

static void jsonl_appends_complete_lines(void **state)
{
    (void)state;
    char *dir = scratch_dir();
    char path[4096];
    snprintf(path, sizeof path, "%s/out/wire.jsonl", dir);
    cd_dest_opts o;
    cdi_dest_opts_default(&o);
    o.kind = CD_DEST_JSONL;
    o.target = path;
    cd_error err;
    for (int round = 0; round < 2; round++) {
        cd_dest *d;
        assert_int_equal(cdi_dest_new(&o, &d, &err), CD_OK);
        assert_int_equal(cdi_dest_deliver(d, "a", "{\"id\":\"a\"}", 10, &err), CD_OK);
        assert_int_equal(cdi_dest_deliver(d, "b", "{\"id\":\"b\"}", 10, &err), CD_OK);
        cdi_dest_free(d);
    }
    char *got = slurp(path, NULL);
    assert_non_null(got);
    assert_string_equal(got, "{\"id\":\"a\"}\n{\"id\":\"b\"}\n{\"id\":\"a\"}\n{\"id\":\"b\"}\n");
    free(got);
    scratch_remove(dir);
}

static void stdout_writes_a_line(void **state)
{
    (void)state;
    char *dir = scratch_dir();
    char path[4096];
    snprintf(path, sizeof path, "%s/stdout.txt", dir);
    fflush(stdout);
    int saved = dup(1);
    assert_non_null(freopen(path, "w", stdout));
    cd_dest_opts o;
    cdi_dest_opts_default(&o);
    o.kind = CD_DEST_STDOUT;
    cd_dest *d;
    cd_error err;
    assert_int_equal(cdi_dest_new(&o, &d, &err), CD_OK);
    assert_int_equal(cdi_dest_deliver(d, "a", "{\"x\":1}", 7, &err), CD_OK);
    cdi_dest_free(d);
    fflush(stdout);
    dup2(saved, 1);
    close(saved);
    char *got = slurp(path, NULL);
    assert_string_equal(got, "{\"x\":1}\n");
    free(got);
    scratch_remove(dir);
}

static void dead_letter_keeps_story_and_error(void **state)
{
    (void)state;
    char *dir = scratch_dir();
    char dl[4096];
    snprintf(dl, sizeof dl, "%s/dead", dir);
    cd_error err;
    cd_dest_opts o;
    cdi_dest_opts_default(&o);
    o.kind = CD_DEST_URL;
    o.target = "http://127.0.0.1:9/in";
    o.name = "trade-desk";
    cd_dest *dest;
    assert_int_equal(cdi_dest_new(&o, &dest, &err), CD_OK);
    assert_int_equal(cdi_dest_set_dead_letter(dest, dl, &err), CD_OK);
    assert_int_equal(cdi_dest_dead_letter(dest, "../x", "HTTP status 500",
                                          "{\"id\":\"../x\"}", 13, &err), CD_OK);
    assert_int_equal(count_files(dl), 1);
    assert_int_equal(count_files(dir), 1);
    DIR *d = opendir(dl);
    struct dirent *e;
    while ((e = readdir(d)) && e->d_name[0] == '.')
        ;
    assert_non_null(e);
    char file[8300];
    snprintf(file, sizeof file, "%s/%s", dl, e->d_name);
    closedir(d);
    char *got = slurp(file, NULL);
    assert_non_null(strstr(got, "\"destination\":\"trade-desk\""));
    assert_non_null(strstr(got, "\"error\":\"HTTP status 500\""));
    assert_non_null(strstr(got, "\"story\":{\"id\":\"../x\"}"));
    free(got);
    /* the same story failing again is a second dead letter, not a
     * replacement of the first */
    assert_int_equal(cdi_dest_dead_letter(dest, "../x", "HTTP status 503",
                                          "{\"id\":\"../x\"}", 13, &err), CD_OK);
    assert_int_equal(count_files(dl), 2);
    cdi_dest_free(dest);
    scratch_remove(dir);
}

static void bad_destinations_are_refused(void **state)
{
    (void)state;
    cd_dest_opts o;
    cdi_dest_opts_default(&o);
    cd_dest *d;
    cd_error err;
    o.kind = CD_DEST_FOLDER;
    o.target = "";
    assert_int_equal(cdi_dest_new(&o, &d, &err), CD_ERR_ARG);
    o.kind = CD_DEST_URL;
    o.target = "file:///etc/passwd";
    assert_int_equal(cdi_dest_new(&o, &d, &err), CD_ERR_ARG);
    assert_null(d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(safe_names_stay_in_the_folder),
        cmocka_unit_test(folder_writes_one_file_per_story),
        cmocka_unit_test(story_file_of_another_id_is_never_replaced),
        cmocka_unit_test(safe_names_are_injective_on_lookalikes),
        cmocka_unit_test(staged_story_is_put_in_place),
        cmocka_unit_test(folder_that_cannot_be_made_fails),
        cmocka_unit_test(jsonl_appends_complete_lines),
        cmocka_unit_test(stdout_writes_a_line),
        cmocka_unit_test(dead_letter_keeps_story_and_error),
        cmocka_unit_test(bad_destinations_are_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
