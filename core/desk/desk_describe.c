/*
 * desk_describe.c - a loaded desk as JSON (see desk_describe.h).  Only the
 * parts a configuration declared are read, never the current story, so
 * the description of a desk may be written while the desk is idle in a
 * pool.
 */
#include <string.h>

#include "desk/desk_describe.h"
#include "desk/desk_internal.h"

static void str(cd_buf *b, const char *s)
{
    if (s)
        cdi_buf_json_string(b, s, strlen(s));
    else
        cdi_buf_puts(b, "null");
}

static const char *kind_name(cd_dest_kind k)
{
    switch (k) {
    case CD_DEST_FOLDER: return "folder";
    case CD_DEST_JSONL: return "jsonl";
    case CD_DEST_STDOUT: return "stdout";
    case CD_DEST_URL: return "url";
    case CD_DEST_STREAM: return "stream";
    }
    return "?";
}

static void topics(cd_buf *b, const cd_topics *t)
{
    cdi_buf_puts(b, "[");
    for (size_t i = 0; i < cdi_topics_count(t); i++) {
        cdi_buf_puts(b, i ? ",{\"id\":" : "{\"id\":");
        str(b, cdi_topics_id(t, i));
        cdi_buf_puts(b, ",\"name\":");
        str(b, cdi_topics_name(t, i));
        int parent = cdi_topics_parent(t, i);
        cdi_buf_puts(b, ",\"parent\":");
        str(b, parent >= 0 ? cdi_topics_id(t, (size_t)parent) : NULL);
        cdi_buf_puts(b, ",\"labels\":[");
        for (size_t j = 0; j < cdi_topics_labels(t, i); j++) {
            cdi_buf_puts(b, j ? "," : "");
            str(b, cdi_topics_label(t, i, j));
        }
        cdi_buf_puts(b, "],\"keywords\":[");
        for (size_t j = 0; j < cdi_topics_keywords(t, i); j++) {
            cdi_buf_puts(b, j ? "," : "");
            str(b, cdi_topics_keyword(t, i, j));
        }
        cdi_buf_puts(b, "]}");
    }
    cdi_buf_puts(b, "]");
}

void cdi_desk_describe_json(const cd_desk *d, cd_buf *b)
{
    cdi_buf_puts(b, "{\"config\":");
    str(b, d->path);
    cdi_buf_puts(b, ",\"topics\":");
    topics(b, d->topics);
    cdi_buf_puts(b, ",\"destinations\":[");
    for (size_t i = 0; i < d->ndests; i++) {
        const desk_dest *ds = &d->dests[i];
        cdi_buf_puts(b, i ? ",{\"name\":" : "{\"name\":");
        str(b, ds->name);
        cdi_buf_puts(b, ",\"kind\":");
        str(b, kind_name(cdi_dest_get_kind(ds->dest)));
        cdi_buf_puts(b, ",\"target\":");
        str(b, cdi_dest_get_kind(ds->dest) == CD_DEST_STDOUT ? NULL : cdi_dest_target(ds->dest));
        cdi_buf_puts(b, ",\"where\":");
        str(b, ds->where);
        cdi_buf_puts(b, "}");
    }
    cdi_buf_puts(b, "],\"rules\":[");
    for (size_t i = 0; i < d->nrules; i++) {
        const desk_rule *r = &d->rules[i];
        cdi_buf_puts(b, i ? ",{\"name\":" : "{\"name\":");
        str(b, r->name);
        cdi_buf_puts(b, ",\"where\":");
        str(b, r->where);
        cdi_buf_puts(b, ",\"to\":[");
        for (size_t j = 0; j < r->nto; j++) {
            cdi_buf_puts(b, j ? "," : "");
            str(b, r->to[j]);
        }
        cdi_buf_puts(b, "]}");
    }
    cdi_buf_puts(b, "],\"models\":[");
    for (size_t i = 0; i < d->nmodels; i++) {
        const desk_model *m = &d->models[i];
        cdi_buf_puts(b, i ? ",{\"name\":" : "{\"name\":");
        str(b, m->name);
        cdi_buf_puts(b, ",\"path\":");
        str(b, m->path);
        cdi_buf_puts(b, ",\"where\":");
        str(b, m->where);
        cdi_buf_printf(b, ",\"labels\":%u}", (unsigned)m->nlabels);
    }
    cdi_buf_puts(b, "],\"fallback\":");
    str(b, d->fallback);
    cdi_buf_puts(b, ",\"fallback_where\":");
    str(b, d->fallback_where);
    cdi_buf_puts(b, ",\"dead_letter\":");
    str(b, d->dead_letter);
    cdi_buf_printf(b, ",\"expects\":%zu,\"feeds\":%zu,\"streams\":%zu}", d->nexpects,
                   d->nfeeds, d->nstreams);
}

int cdi_desk_routed_to_url(const cd_desk *d)
{
    for (size_t i = 0; i < d->nroute; i++)
        if (cdi_dest_get_kind(d->dests[d->route[i]].dest) == CD_DEST_URL ||
            cdi_dest_get_kind(d->dests[d->route[i]].dest) == CD_DEST_STREAM)
            return 1;   /* it may wait in the spool */
    return 0;
}
