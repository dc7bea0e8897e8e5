/*
 * fuzz_desk.c - libFuzzer target: the desk configuration loader on any
 * Lua text, then the desk at work.
 *
 * Each input is written as desk.lua into a scratch folder that also holds
 * a tiny model (m.cdm, trained once at start-up) and loaded with small
 * limits (instructions, memory, wall clock) so that no input can hang the
 * run or take much memory.  It is first loaded for its taxonomy alone (as
 * train --seeds does), then whole.  A desk that loads is validated, routes
 * two stories in dry-run mode (nothing is written anywhere), prints their
 * decisions as JSON and as ninjs, and runs its expect cases.  The engine must never
 * crash, leak or lose a story: every routed story has an outcome and at
 * least one destination.
 */
#define _GNU_SOURCE
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "copydesk.h"

static char dir[64];
static char path[128];

static const struct { const char *text, *label; } train[] = {
    { "Tariffs on steel imports rise as the trade dispute deepens", "trade" },
    { "Exporters fear the trade rift and new tariffs", "trade" },
    { "The striker scored twice and the club won the cup", "sport" },
    { "The goalkeeper saved a penalty in the final", "sport" },
};

static void cleanup(void)
{
    char p[160];
    snprintf(p, sizeof p, "%s/m.cdm", dir);
    unlink(p);
    unlink(path);
    rmdir(dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    const char *tmp = getenv("TMPDIR");
    snprintf(dir, sizeof dir, "%.40s/fuzzdesk.XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(dir))
        abort();
    snprintf(path, sizeof path, "%s/desk.lua", dir);
    atexit(cleanup);
    cd_trainer *t;
    cd_error err;
    if (cd_trainer_new(NULL, NULL, &t, &err) != CD_OK)
        abort();
    for (size_t i = 0; i < sizeof train / sizeof train[0]; i++)
        cd_trainer_add(t, train[i].text, strlen(train[i].text), &train[i].label, 1, &err);
    char m[160];
    snprintf(m, sizeof m, "%s/m.cdm", dir);
    if (cd_trainer_save(t, m, NULL, NULL, &err) != CD_OK)
        abort();
    cd_trainer_free(t);
    return 0;
}

static void route_one(cd_desk *d, const char *id, const char *title, const char *body,
                      const char *meta)
{
    cd_story s = { 0 };
    s.id = strdup(id);
    s.title = strdup(title);
    s.title_len = strlen(title);
    s.body = strdup(body);
    s.body_len = strlen(body);
    s.meta_json = strdup(meta);
    s.source = strdup("fuzz:1");
    if (!s.id || !s.title || !s.body || !s.meta_json || !s.source) {
        cd_story_clear(&s);
        return;
    }
    cd_decision dec;
    cd_error err;
    if (cd_desk_route(d, &s, 1, &dec, &err) == CD_OK) {
        if (dec.nroute == 0 || !dec.reason)
            abort();   /* a story always goes somewhere */
        for (size_t i = 0; i < dec.nroute; i++)
            if (!dec.route[i])
                abort();
        free(cd_desk_decision_json(d, 1));
        char *doc = cd_desk_ninjs(d);   /* what a format = "ninjs" destination gets */
        if (doc && (doc[0] != '{' || !strstr(doc, "\"uri\":")))
            abort();
        free(doc);
    }
    cd_story_clear(&s);
}

static void no_problem(const char *msg, void *ud)
{
    (void)msg;
    (void)ud;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        abort();
    if (size && fwrite(data, 1, size, f) != size)
        abort();
    fclose(f);

    cd_desk_opts o;
    cd_desk_opts_default(&o);
    o.instructions = 20000;
    o.memory = (size_t)8 << 20;
    o.seconds = 0.5;
    o.scripts_dir = dir;
    cd_desk *d;
    cd_error err;
    cd_desk_opts tax = o;   /* the taxonomy alone, as train --seeds loads it */
    tax.taxonomy_only = 1;
    if (cd_desk_load(path, &tax, &d, &err) == CD_OK)
        cd_desk_free(d);
    else if (!err.msg[0])
        abort();
    if (cd_desk_load(path, &o, &d, &err) != CD_OK) {
        if (!err.msg[0])
            abort();   /* a refusal always says why */
        return 0;
    }
    cd_desk_validate(d, no_problem, NULL);
    route_one(d, "fuzz-1", "Tariffs rise", "Steel tariffs and a trade war.",
              "{\"desk\":\"business\",\"n\":[1,2,{\"x\":null}]}");
    route_one(d, "../../etc/x", "Cup final", "The striker scored.", "{}");
    for (size_t i = 0; i < cd_desk_expects(d) && i < 8; i++) {
        cd_expect_result res;
        cd_desk_run_expect(d, i, &res, &err);
    }
    cd_desk_free(d);
    return 0;
}
