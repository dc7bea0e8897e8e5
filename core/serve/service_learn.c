/*
 * service_learn.c - POST /v1/learn: an editor's correction, as copydesk
 * learn makes it (cli/cli_learn.c: the model's trainer, the story keyed
 * by its id so that a second correction replaces the first, a label the
 * model lacks refused unless asked for, the file replaced atomically),
 * then the desk reloaded with the new model (gated by its expect cases,
 * as every reload) and the story decided again by it.
 *
 * One correction at a time in the process: two at once would each start
 * from the model before the other's and the last write would win.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "desk/desk_live.h"
#include "serve/service.h"

static pthread_mutex_t learning = PTHREAD_MUTEX_INITIALIZER;

/* The file and name of the desk's model called name (NULL: the only
 * one); 0, or an error answer's status. */
static int find_model(cd_service *s, const char *name, char **file, char **shown, cd_buf *out)
{
    cd_lease *l = cdi_service_lease(s);
    cd_desk *d = cdi_lease_desk(l);
    size_t n = cd_desk_models(d), pick = n;
    cd_buf names = { 0 };
    for (size_t i = 0; i < n; i++) {
        cdi_buf_printf(&names, "%s%s", i ? ", " : "", cdi_desk_model_name(d, i));
        if (name && !strcmp(name, cdi_desk_model_name(d, i)))
            pick = i;
    }
    if (!name && n == 1)
        pick = 0;
    int status = 0;
    if (n == 0) {
        status = cdi_service_error(out, 409, "no_model", "the running desk has no model to correct");
    } else if (pick == n && !name) {
        status = cdi_service_error(out, 400, "model_required",
                                   "the desk has %zu models: say which with ?model=NAME (%s)", n,
                                   names.data ? names.data : "");
    } else if (pick == n) {
        status = cdi_service_error(out, 404, "unknown_model",
                                   "the desk has no model '%.200s': its models are %s", name,
                                   names.data ? names.data : "");
    } else {
        *file = cdi_desk_model_file(d, pick);
        *shown = strdup(cdi_desk_model_name(d, pick));
        if (!*file || !*shown)
            status = cdi_service_error(out, 500, "internal", "out of memory");
    }
    cdi_buf_free(&names);
    cdi_service_return(s, l);
    return status;
}

/* The story's labels as the model names them: "sections:sport" is the
 * label "sport" of the model "sections", as the desk's topics write it. */
static const char **model_labels(const cd_story *st, const char *model)
{
    const char **v = calloc(st->nlabels ? st->nlabels : 1, sizeof *v);
    size_t ml = strlen(model);
    for (size_t i = 0; v && i < st->nlabels; i++) {
        const char *l = st->labels[i];
        v[i] = !strncmp(l, model, ml) && l[ml] == ':' && l[ml + 1] ? l + ml + 1 : l;
    }
    return v;
}

/* The correction into the model file; 0, or an error answer's status. */
static int correct(const char *file, const cd_story *st, const char *model, unsigned flags,
                   int fast, int *replaced, cd_buf *out)
{
    cd_error e;
    cd_model *m;
    cd_trainer *t = NULL;
    if (cd_model_open(file, &m, &e) != CD_OK)
        return cdi_service_error(out, 500, "model_unreadable", "%s", e.msg);
    cd_status rc = cd_trainer_from_model(m, &t, &e);
    cd_model_close(m);
    if (rc != CD_OK)
        return cdi_service_error(out, 500, "internal", "%s", e.msg);
    cd_trainer_set_settle(t, !fast);
    size_t len;
    char *text = cd_story_text(st, &len);
    const char **labels = model_labels(st, model);
    int status = 0;
    if (!text || !labels) {
        status = cdi_service_error(out, 500, "internal", "out of memory");
    } else if ((rc = cd_trainer_add_story(t, st->id, text, len, labels, st->nlabels, flags,
                                          replaced, &e)) != CD_OK) {
        if (rc == CD_ERR_ARG && strstr(e.msg, "is not one of the model's"))
            status = cdi_service_error(out, 422, "unknown_label",
                                       "story '%s': %s (?new_label=1 adds it)", st->id, e.msg);
        else
            status = cdi_service_error(out, rc == CD_ERR_NOMEM ? 500 : 400, "bad_correction",
                                       "story '%s': %s", st->id, e.msg);
    } else if (cd_trainer_save(t, file, NULL, NULL, &e) != CD_OK) {
        status = cdi_service_error(out, 500, "model_not_written", "%s", e.msg);
    }
    free(labels);
    free(text);
    cd_trainer_free(t);
    return status;
}

int cdi_service_learn(cd_service *s, const cd_story *st, const char *model, unsigned flags,
                      int fast, cd_buf *out)
{
    if (!st->nlabels)
        return cdi_service_error(out, 400, "no_labels",
                                 "story '%s' has no labels: a correction gives the right ones "
                                 "(\"labels\": [\"sport\"])", st->id);
    char *file = NULL, *name = NULL;
    int status = find_model(s, model, &file, &name, out);
    if (status) {
        free(file);
        free(name);
        return status;
    }
    pthread_mutex_lock(&learning);
    int replaced = 0;
    status = correct(file, st, name, flags, fast, &replaced, out);
    int reloaded = 0;
    char msg[1200] = "";
    if (!status) {
        /* watch sees the file replaced too and reloads; this answer waits
         * for the HTTP threads' desks to have the new model */
        reloaded = cdi_service_reload(s, 1, "POST /v1/learn");
        cdi_service_reload_message(s, msg, sizeof msg);
    }
    pthread_mutex_unlock(&learning);
    if (status) {
        free(file);
        free(name);
        return status;
    }
    cd_error e;
    cd_model *m;
    cd_model_info info;
    memset(&info, 0, sizeof info);
    if (cd_model_open(file, &m, &e) == CD_OK) {
        cd_model_get_info(m, &info);
        cd_model_close(m);
    }
    cdi_buf_puts(out, "{\"learned\":{\"id\":");
    cdi_buf_json_string(out, st->id, strlen(st->id));
    cdi_buf_puts(out, ",\"labels\":[");
    const char **labels = model_labels(st, name);
    for (size_t i = 0; labels && i < st->nlabels; i++) {
        cdi_buf_puts(out, i ? "," : "");
        cdi_buf_json_string(out, labels[i], strlen(labels[i]));
    }
    free(labels);
    cdi_buf_printf(out, "],\"replaced\":%s},\"model\":{\"name\":", replaced ? "true" : "false");
    cdi_buf_json_string(out, name, strlen(name));
    cdi_buf_puts(out, ",\"file\":");
    cdi_buf_json_string(out, file, strlen(file));
    cdi_buf_printf(out, ",\"stories\":%llu,\"corrections\":%llu,\"labels\":%u,\"calibrated\":%s}",
                   (unsigned long long)info.docs, (unsigned long long)info.corrections,
                   info.labels, fast ? "false" : "true");
    cdi_buf_printf(out, ",\"reloaded\":%s,\"reload\":", reloaded ? "true" : "false");
    cdi_buf_json_string(out, msg, strlen(msg));
    /* the story again, under the desk that now runs (the new model when
     * the reload passed, else the previous desk) */
    cd_lease *l = cdi_service_lease(s);
    cd_decision dec;
    char *json = cd_desk_route(cdi_lease_desk(l), st, 1, &dec, &e) == CD_OK
                     ? cd_desk_decision_json(cdi_lease_desk(l), 0) : NULL;
    cdi_service_return(s, l);
    cdi_buf_printf(out, ",\"version\":%llu,\"decision\":%s}",
                   (unsigned long long)cdi_service_version(s), json ? json : "null");
    free(json);
    free(file);
    free(name);
    return 200;
}
