/*
 * fuzz_reader.c - libFuzzer target: the story readers on any bytes.
 *
 * The first byte chooses the reader's story size bound (0: the default,
 * else a small one, so that the "story too large" paths are reached); the
 * rest goes, in turn, through
 *   - cd_story_from_json (one JSON object),
 *   - cd_story_from_text (plain text),
 *   - the streaming reader (format detection, JSON lines, JSON arrays,
 *     pretty-printed objects, RSS and Atom feeds, plain text) on an
 *     in-memory file (memfd),
 *     opened by path like any input.
 * Checks: every story has its fields (never NULL), meta is a JSON object,
 * every error has a message that names the file, and the reader ends (at
 * most one story or error per input byte, plus one).
 */
#define _GNU_SOURCE
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "copydesk.h"

static void check_story(const cd_story *s)
{
    if (!s->id || !s->title || !s->body || !s->meta_json || !s->source)
        abort();
    if ((s->nlabels > 0) != (s->labels != NULL))
        abort();
    for (size_t i = 0; i < s->nlabels; i++)
        if (!s->labels[i] || !s->labels[i][0])
            abort();
    cJSON *meta = cJSON_Parse(s->meta_json);
    if (!meta || !cJSON_IsObject(meta))
        abort();
    cJSON_Delete(meta);
    size_t len;
    char *text = cd_story_text(s, &len);
    if (!text || len != s->title_len + 1 + s->body_len)
        abort();
    free(text);
}

static void whole(const char *p, size_t n)
{
    cd_story s;
    cd_error err;
    size_t off = 0;
    if (cd_story_from_json(p, n, "fuzz", &s, &off, &err) == CD_OK) {
        check_story(&s);
        cd_story_clear(&s);
    } else if (off > n || !err.msg[0]) {
        abort();
    }
    if (cd_story_from_text(p, n, "fuzz.txt", (n & 1) ? "label" : NULL, &s, &err) != CD_OK)
        abort();
    check_story(&s);
    if (s.title_len > n || s.body_len > n)
        abort();
    cd_story_clear(&s);
}

static void streamed(const char *p, size_t n, size_t max_story)
{
    int fd = memfd_create("fuzz-reader", MFD_CLOEXEC);
    if (fd < 0)
        return;
    if (n > 0 && write(fd, p, n) != (ssize_t)n) {
        close(fd);
        return;
    }
    char path[64];
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    const char *inputs[] = { path };
    cd_reader_opts o;
    cd_reader_opts_default(&o);
    o.max_story_bytes = max_story;
    cd_reader *r;
    cd_error err;
    if (cd_reader_open(inputs, 1, &o, &r, &err) != CD_OK)
        abort();
    cd_story s;
    size_t steps = 0;
    int rc;
    while ((rc = cd_reader_next(r, &s, &err)) != CD_READ_END) {
        if (++steps > n + 2)
            abort();   /* the reader does not end */
        if (rc == CD_READ_STORY) {
            check_story(&s);
            cd_story_clear(&s);
        } else if (rc != CD_READ_ERROR || strncmp(err.msg, path, strlen(path)) != 0) {
            abort();
        }
    }
    cd_reader_free(r);
    close(fd);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    size_t max_story = data[0] == 0 ? 0 : 1 + (size_t)data[0] * 8;
    const char *p = (const char *)data + 1;
    size_t n = size - 1;
    whole(p, n);
    streamed(p, n, max_story);
    return 0;
}
