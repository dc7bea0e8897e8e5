/*
 * desk_ninjs.c - the desk's decision about a story as IPTC ninjs 2.2: the
 * topics at or above their threshold become the document's subjects, and
 * the route goes with it (core/deliver/deliver_ninjs.c writes it).
 */
#include <stdlib.h>
#include <string.h>

#include "desk/desk_internal.h"
#include "deliver/deliver_ninjs.h"

/* "copydesk:MODEL" for the model whose label is the topic's strongest
 * evidence, "copydesk" when its keywords (or a child topic) are. */
static char *creator(const cd_desk *d, size_t i)
{
    const cd_topic_score *s = &d->cur.scores[i];
    const char *model = NULL;
    if (s->best_label >= 0 && s->label_p > 0 && s->label_p >= s->keyword && s->own >= s->score) {
        const char *label = cdi_topics_label(d->topics, i, (size_t)s->best_label);
        const char *colon = strchr(label, ':');
        for (size_t m = 0; m < d->nmodels && !model; m++) {
            const char *name = d->models[m].name;
            if (colon ? strlen(name) == (size_t)(colon - label) && !strncmp(name, label, strlen(name))
                      : cd_model_find_label(d->models[m].model, label) >= 0)
                model = name;
        }
    }
    size_t n = model ? strlen(model) : 0;
    char *c = malloc(n + 10);
    if (c) {
        memcpy(c, "copydesk", 9);
        if (model) {
            c[8] = ':';
            memcpy(c + 9, model, n + 1);
        }
    }
    return c;
}

static int by_score(const void *a, const void *b)
{
    const cd_ninjs_subject *x = a, *y = b;
    return (x->score < y->score) - (x->score > y->score);
}

void cdi_desk_ninjs_write(cd_desk *d, cd_buf *b)
{
    cdi_buf_reset(b);
    size_t nt = cdi_topics_count(d->topics), n = 0;
    cd_ninjs_subject *subj = calloc(nt ? nt : 1, sizeof *subj);
    if (!subj) {
        b->failed = 1;
        return;
    }
    for (size_t i = 0; i < nt; i++) {
        double sc = d->cur.scores[i].score;
        if (!(sc >= cdi_topics_threshold(d->topics, i)) || sc <= 0)
            continue;
        cd_ninjs_subject *s = &subj[n++];
        s->id = cdi_topics_id(d->topics, i);
        s->name = cdi_topics_name(d->topics, i);
        s->iptc = cdi_topics_iptc(d->topics, i);
        s->score = sc;
        if (!(s->creator = creator(d, i)))
            b->failed = 1;
    }
    qsort(subj, n, sizeof *subj, by_score);
    cd_ninjs_doc doc = {
        .story = d->cur.story, .subjects = subj, .nsubjects = n,
        .route = d->route_names, .nroute = d->nroute, .rule = d->rule,
        .reason = d->reason.data,
    };
    cdi_ninjs_write(b, &doc);
    for (size_t i = 0; i < n; i++)
        free((char *)subj[i].creator);
    free(subj);
}

char *cd_desk_ninjs(cd_desk *d)
{
    if (!d->cur.story)
        return NULL;
    cd_buf b = { 0 };
    cdi_desk_ninjs_write(d, &b);
    if (b.failed) {
        cdi_buf_free(&b);
        return NULL;
    }
    return b.data;
}
