/*
 * watch_desk.c - the running desk of copydesk watch: loaded beside the
 * running one, checked (it must load and pass its expect cases) and only
 * then installed; the model files it names, watched for replacement; and
 * routing one story with it, logged and counted.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/fs.h"
#include "base/clock.h"
#include "live/watch_internal.h"

/* ---- model files ------------------------------------------------------------------- */

void cdi_watch_free_models(watch *w)
{
    for (size_t i = 0; i < w->nmodels; i++)
        free(w->models[i]);
    free(w->models);
    w->models = NULL;
    w->nmodels = 0;
}

/* Watch the folders of the running desk's model files. */
static void watch_models(watch *w)
{
    cdi_watch_free_models(w);
    size_t n = cd_desk_models(w->desk);
    w->models = calloc(n ? n : 1, sizeof *w->models);
    if (!w->models)
        return;
    for (size_t i = 0; i < n; i++) {
        char *path = cdi_desk_model_file(w->desk, i);
        char *real = path ? realpath(path, NULL) : NULL;
        w->models[w->nmodels++] = real ? real : path;
        if (real)
            free(path);
        char *copy = w->models[w->nmodels - 1] ? strdup(w->models[w->nmodels - 1]) : NULL;
        char *slash = copy ? strrchr(copy, '/') : NULL;
        if (slash) {
            *slash = '\0';
            cdi_watch_add_dir(w, *copy ? copy : "/", W_MODEL, FILE_EVENTS);
        }
        free(copy);
    }
}

int cdi_watch_is_model(watch *w, const char *dir, const char *name)
{
    char *p = cdi_path_join(dir, name);
    char *real = p ? realpath(p, NULL) : NULL;
    int yes = 0;
    for (size_t i = 0; i < w->nmodels && !yes; i++)
        yes = w->models[i] && ((real && !strcmp(real, w->models[i])) ||
                               (p && !strcmp(p, w->models[i])));
    free(p);
    free(real);
    return yes;
}

/* ---- loading, installing, reloading ------------------------------------------------ */

/* Make desk the running one (its url destinations, loaded with the
 * spool folder, are already bound to the spool). */
void cdi_watch_install(watch *w, cd_desk *desk)
{
    cd_desk_free(w->desk);   /* its pipelined appends are answered first */
    w->desk = desk;
    cdi_desk_set_hold(desk, cdi_watch_hold, w);
    /* watch syncs (cdi_watch_sync) before it lets an input go */
    cdi_desk_set_batching(desk, 1);
    watch_models(w);
    cdi_watch_install_feeds(w, desk);
    cdi_watch_install_streams(w, desk);
    cdi_watch_publish_streams(w);
}

typedef struct problems {
    watch *w;
    size_t n;
} problems;

static void warn_problem(const char *msg, void *ud)
{
    problems *p = ud;
    p->n++;
    logline l;
    cdi_log_begin(&l, p->w, "warning");
    cdi_log_str(&l, "problem", msg);
    cdi_log_end(&l);
}

/* Load the configuration beside the running desk; the new one must load
 * and pass its expect cases.  Returns the new desk or NULL (msg says why). */
cd_desk *cdi_watch_load(watch *w, char *msg, size_t cap)
{
    cd_desk *desk;
    cd_error e;
    if (cd_desk_load(w->o->config, &w->desk_opts, &desk, &e) != CD_OK) {
        snprintf(msg, cap, "%s", e.msg);
        return NULL;
    }
    problems p = { w, 0 };
    cd_desk_validate(desk, warn_problem, &p);
    if (cdi_desk_check_expects(desk, NULL, NULL, msg, cap)) {
        cd_desk_free(desk);
        return NULL;
    }
    return desk;
}

void cdi_watch_reload(watch *w)
{
    w->reload_due = 0;
    char msg[1200];
    cd_desk *desk = cdi_watch_load(w, msg, sizeof msg);
    if (desk)
        cdi_watch_install(w, desk);
    w->reloads++;
    w->reload_at = time(NULL);
    w->reload_ok = desk != NULL;
    cdi_watch_set_str(&w->reload_msg, msg);
    w->status_dirty = 1;
    logline l;
    cdi_log_begin(&l, w, desk ? "reload" : "reload-failed");
    cdi_log_str(&l, "config", w->o->config);
    cdi_log_str(&l, desk ? "result" : "error", msg);
    if (!desk)
        cdi_log_str(&l, "keeping", "the previous rules");
    cdi_log_end(&l);
    if (!desk) {
        w->errors++;
        cdi_watch_set_str(&w->last_error, msg);
    }
    if (w->o->on_reload)
        w->o->on_reload(w->o->on_reload_ud, desk != NULL, msg);
}

/* ---- routing one story ------------------------------------------------------------- */

/* Route one story and log it; 0 when it has a safe outcome, -1 when not
 * (why is filled). */
int cdi_watch_route_story(watch *w, const cd_story *s, const char *origin, char *why,
                          size_t cap)
{
    cd_decision dec;
    cd_error e;
    double t0 = cdi_monotonic();
    if (cd_desk_route(w->desk, s, 0, &dec, &e) != CD_OK) {
        snprintf(why, cap, "story %s: %s", s->id, e.msg);
        cdi_watch_note_error(w, "error", s->id, why);
        return -1;
    }
    if (w->o->on_story)
        w->o->on_story(w->o->on_reload_ud, &dec, cdi_monotonic() - t0);
    cdi_watch_log_story(w, "story", s->id, &dec, origin);
    if (w->archive) {
        cd_buf summary = { 0 };
        cdi_desk_decision_summary(w->desk, &summary);
        if (cdi_archive_add(w->archive, s, &dec, summary.failed ? NULL : summary.data,
                            (double)time(NULL), &e) != CD_OK)
            cdi_watch_note_error(w, "archive-failed", s->id, e.msg);
        cdi_buf_free(&summary);
    }
    if (dec.outcome == CD_OUTCOME_FAILED) {
        snprintf(why, cap, "story %s: %s", s->id, dec.error ? dec.error : "delivery failed");
        return -1;
    }
    return 0;
}
