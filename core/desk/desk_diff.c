/*
 * desk_diff.c - one story under two desks, and the moves (see
 * desk_diff.h).
 */
#include <stdlib.h>
#include <string.h>

#include "base/json.h"
#include "desk/desk_diff.h"

static int by_str(const void *x, const void *y)
{
    return strcmp(*(const char *const *)x, *(const char *const *)y);
}

/* The route as a set: its names sorted, joined with ", " ("-" when empty). */
static void route_key(cd_buf *b, const cd_decision *dec)
{
    const char *v[64];
    size_t n = dec->nroute < 64 ? dec->nroute : 64;
    memcpy(v, dec->route, n * sizeof *v);
    qsort(v, n, sizeof *v, by_str);
    for (size_t i = 0; i < n; i++)
        cdi_buf_printf(b, "%s%s", i ? ", " : "", v[i]);
    if (!n)
        cdi_buf_puts(b, "-");
}

cd_status cdi_diff_story(cd_desk *base, cd_desk *desk, const cd_story *s, cd_diff_story *r,
                         cd_error *err)
{
    memset(r, 0, sizeof *r);
    if (cd_desk_route(base, s, 1, &r->base, err) != CD_OK ||
        cd_desk_route(desk, s, 1, &r->now, err) != CD_OK)
        return CD_ERR_SCRIPT;
    if (r->base.error)
        r->flags |= CD_DIFF_BASE_ERROR;
    if (r->now.error)
        r->flags |= CD_DIFF_NEW_ERROR;
    route_key(&r->from, &r->base);
    route_key(&r->to, &r->now);
    if (r->from.failed || r->to.failed)
        return cd_error_set(err, CD_ERR_NOMEM, "out of memory");
    if (strcmp(r->from.data, r->to.data)) {
        r->flags |= CD_DIFF_MOVED;
        r->base_json = cd_desk_decision_json(base, 1);
        r->new_json = cd_desk_decision_json(desk, 1);
        if (!r->base_json || !r->new_json)
            return cd_error_set(err, CD_ERR_NOMEM, "out of memory");
    }
    return CD_OK;
}

void cdi_diff_story_free(cd_diff_story *r)
{
    cdi_buf_free(&r->from);
    cdi_buf_free(&r->to);
    free(r->base_json);
    free(r->new_json);
    r->base_json = r->new_json = NULL;
}

static void route_array(cd_buf *b, const cd_decision *dec)
{
    cdi_buf_puts(b, "[");
    for (size_t i = 0; i < dec->nroute; i++) {
        cdi_buf_puts(b, i ? "," : "");
        cdi_buf_json_string(b, dec->route[i], strlen(dec->route[i]));
    }
    cdi_buf_puts(b, "]");
}

void cdi_diff_change_json(cd_buf *out, const cd_story *s, const cd_diff_story *r)
{
    const char *id = s->id ? s->id : "", *src = s->source ? s->source : "";
    cdi_buf_puts(out, "{\"id\":");
    cdi_buf_json_string(out, id, strlen(id));
    cdi_buf_puts(out, ",\"source\":");
    cdi_buf_json_string(out, src, strlen(src));
    cdi_buf_puts(out, ",\"from\":");
    route_array(out, &r->base);
    cdi_buf_puts(out, ",\"to\":");
    route_array(out, &r->now);
    cdi_buf_printf(out, ",\"base\":%s,\"new\":%s}", r->base_json ? r->base_json : "null",
                   r->new_json ? r->new_json : "null");
}

/* ---- the moves ------------------------------------------------------------------- */

cd_diff_move *cdi_diff_moves_add(cd_diff_moves *m, const char *from, size_t flen, const char *to,
                                 size_t tlen)
{
    for (size_t i = 0; i < m->n; i++)
        if (strlen(m->v[i].from) == flen && !memcmp(m->v[i].from, from, flen) &&
            strlen(m->v[i].to) == tlen && !memcmp(m->v[i].to, to, tlen)) {
            m->v[i].count++;
            return &m->v[i];
        }
    if (m->n == m->cap) {
        size_t cap = m->cap ? m->cap * 2 : 16;
        cd_diff_move *v = realloc(m->v, cap * sizeof *v);
        if (!v) {
            m->failed = 1;
            return NULL;
        }
        m->v = v;
        m->cap = cap;
    }
    cd_diff_move *mv = &m->v[m->n];
    memset(mv, 0, sizeof *mv);
    mv->from = strndup(from, flen);
    mv->to = strndup(to, tlen);
    mv->count = 1;
    if (!mv->from || !mv->to) {
        free(mv->from);
        free(mv->to);
        m->failed = 1;
        return NULL;
    }
    m->n++;
    return mv;
}

static int by_count(const void *x, const void *y)
{
    const cd_diff_move *a = x, *b = y;
    if (a->count != b->count)
        return a->count < b->count ? 1 : -1;
    int c = strcmp(a->from, b->from);
    return c ? c : strcmp(a->to, b->to);
}

void cdi_diff_moves_sort(cd_diff_moves *m)
{
    if (m->n)
        qsort(m->v, m->n, sizeof *m->v, by_count);
}

void cdi_diff_moves_free(cd_diff_moves *m)
{
    for (size_t i = 0; i < m->n; i++) {
        free(m->v[i].from);
        free(m->v[i].to);
        cdi_buf_free(&m->v[i].changes);
    }
    free(m->v);
    memset(m, 0, sizeof *m);
}

void cdi_diff_names_json(cd_buf *out, const char *set)
{
    cdi_buf_puts(out, "[");
    if (strcmp(set, "-")) {
        const char *s = set;
        for (int first = 1;; first = 0) {
            const char *e = strstr(s, ", ");
            size_t n = e ? (size_t)(e - s) : strlen(s);
            if (!first)
                cdi_buf_puts(out, ",");
            cdi_buf_json_string(out, s, n);
            if (!e)
                break;
            s = e + 2;
        }
    }
    cdi_buf_puts(out, "]");
}
