/*
 * support.c - helpers shared by the unit tests (see support.h).
 */
#define _XOPEN_SOURCE 700  /* nftw */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ftw.h>
#include <unistd.h>

#include "support.h"

const char *fixture(const char *name)
{
    static char path[4096];
    const char *root = getenv("COPYDESK_FIXTURES");
    snprintf(path, sizeof path, "%s/%s", root ? root : "tests/fixtures", name);
    return path;
}

char *scratch_dir(void)
{
    const char *tmp = getenv("TMPDIR");
    char tmpl[4096];
    snprintf(tmpl, sizeof tmpl, "%s/copydesk-test-XXXXXX", tmp ? tmp : "/tmp");
    if (!mkdtemp(tmpl))
        return NULL;
    return strdup(tmpl);
}

static int remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st; (void)flag; (void)ftw;
    return remove(path);
}

void scratch_remove(char *dir)
{
    if (dir)
        nftw(dir, remove_one, 16, FTW_DEPTH | FTW_PHYS);
    free(dir);
}

char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    for (;;) {
        if (!buf)
            break;
        if (n + 1 >= cap) {
            char *bigger = realloc(buf, cap * 2);
            if (!bigger) { free(buf); buf = NULL; break; }
            buf = bigger;
            cap *= 2;
        }
        size_t got = fread(buf + n, 1, cap - n - 1, f);
        n += got;
        if (got == 0)
            break;
    }
    fclose(f);
    if (buf) {
        buf[n] = '\0';
        if (len)
            *len = n;
    }
    return buf;
}

int spit(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    size_t put = fwrite(data, 1, len, f);
    return (fclose(f) == 0 && put == len) ? 0 : -1;
}

void make_story(cd_story *s, const char *id, const char *title, const char *body,
                const char *meta)
{
    memset(s, 0, sizeof *s);
    s->id = strdup(id);
    s->title = strdup(title);
    s->body = strdup(body);
    s->title_len = strlen(title);
    s->body_len = strlen(body);
    s->meta_json = strdup(meta ? meta : "{}");
    s->source = strdup("test");
}

cd_desk *load_desk(const char *dir, const char *text)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/desk.lua", dir);
    if (spit(path, text, strlen(text)) != 0)
        return NULL;
    cd_desk *desk = NULL;
    cd_error err;
    if (cd_desk_load(path, NULL, &desk, &err) != CD_OK) {
        fprintf(stderr, "%s\n", err.msg);
        return NULL;
    }
    return desk;
}

int desk_setup(char **dir, cd_desk **desk, const char *text)
{
    *dir = scratch_dir();
    *desk = *dir ? load_desk(*dir, text) : NULL;
    return *desk ? 0 : -1;
}

void desk_teardown(char **dir, cd_desk **desk)
{
    cd_desk_free(*desk);
    scratch_remove(*dir);
    *desk = NULL;
    *dir = NULL;
}

cd_status add_oil_shipping(cd_trainer *t, cd_error *err)
{
    const char *both[] = { "oil", "shipping" }, *oil[] = { "oil" }, *ship[] = { "shipping" };
    cd_status st = CD_OK;
    for (int i = 0; i < 10 && st == CD_OK; i++) {
        char text[128];
        snprintf(text, sizeof text, "crude oil prices barrels opec output %d", i);
        st = cd_trainer_add(t, text, strlen(text), oil, 1, err);
        snprintf(text, sizeof text, "tanker vessels port freight cargo %d", i);
        if (st == CD_OK)
            st = cd_trainer_add(t, text, strlen(text), ship, 1, err);
        snprintf(text, sizeof text, "crude oil tanker vessels barrels port %d", i);
        if (st == CD_OK)
            st = cd_trainer_add(t, text, strlen(text), both, 2, err);
    }
    return st;
}

double label_prob(const cd_model *m, const char *text, const char *label)
{
    cd_classifier *c;
    const cd_label_score *sc;
    size_t n;
    double p = -1;
    if (cd_classifier_new(m, &c, NULL) != CD_OK)
        return -1;
    if (cd_classify(c, text, strlen(text), &sc, &n, NULL) == CD_OK)
        for (size_t i = 0; i < n; i++)
            if (!strcmp(cd_model_label(m, sc[i].label), label))
                p = sc[i].p;
    cd_classifier_free(c);
    return p;
}
