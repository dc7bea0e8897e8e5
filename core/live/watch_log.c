/*
 * watch_log.c - the log of copydesk watch: one line per story and per
 * event on the log stream (stderr), "time event key=value ..." for people
 * or, with --json-log, one JSON object per line for machines.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/json.h"
#include "desk/isotime.h"
#include "live/watch_internal.h"

void cdi_watch_set_str(char **dst, const char *s)
{
    char *c = s ? strdup(s) : NULL;
    if (s && !c)
        return;
    free(*dst);
    *dst = c;
}

static void now_iso(char *out, size_t cap)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    size_t n = strftime(out, cap, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out + n, cap - n, ".%03ldZ", ts.tv_nsec / 1000000);
}

void cdi_log_begin(logline *l, watch *w, const char *event)
{
    char ts[40];
    now_iso(ts, sizeof ts);
    memset(l, 0, sizeof *l);
    l->w = w;
    if (w->o->json_log) {
        cdi_buf_printf(&l->b, "{\"time\":\"%s\",\"event\":", ts);
        cdi_buf_json_string(&l->b, event, strlen(event));
    } else {
        cdi_buf_printf(&l->b, "%s %s", ts, event);
    }
}

static int needs_quotes(const char *v)
{
    if (!*v)
        return 1;
    for (const char *p = v; *p; p++)
        if (*p == ' ' || *p == '"' || *p == '=' || (unsigned char)*p < 0x20)
            return 1;
    return 0;
}

void cdi_log_str(logline *l, const char *key, const char *v)
{
    if (!v)
        v = l->w->o->json_log ? NULL : "-";
    if (l->w->o->json_log) {
        cdi_buf_printf(&l->b, ",\"%s\":", key);
        if (v)
            cdi_buf_json_string(&l->b, v, strlen(v));
        else
            cdi_buf_puts(&l->b, "null");
        return;
    }
    cdi_buf_printf(&l->b, " %s=", key);
    if (!needs_quotes(v)) {
        cdi_buf_puts(&l->b, v);
        return;
    }
    cdi_buf_puts(&l->b, "\"");
    for (const char *p = v; *p; p++) {
        if (*p == '"' || *p == '\\')
            cdi_buf_printf(&l->b, "\\%c", *p);
        else if ((unsigned char)*p < 0x20)
            cdi_buf_puts(&l->b, " ");
        else
            cdi_buf_put(&l->b, p, 1);
    }
    cdi_buf_puts(&l->b, "\"");
}

void cdi_log_num(logline *l, const char *key, double v)
{
    if (l->w->o->json_log)
        cdi_buf_printf(&l->b, ",\"%s\":%.10g", key, v);
    else
        cdi_buf_printf(&l->b, " %s=%.10g", key, v);
}

void cdi_log_list(logline *l, const char *key, const char *const *v, size_t n)
{
    if (l->w->o->json_log) {
        cdi_buf_printf(&l->b, ",\"%s\":[", key);
        for (size_t i = 0; i < n; i++) {
            cdi_buf_puts(&l->b, i ? "," : "");
            cdi_buf_json_string(&l->b, v[i], strlen(v[i]));
        }
        cdi_buf_puts(&l->b, "]");
        return;
    }
    cd_buf b = { 0 };
    for (size_t i = 0; i < n; i++) {
        cdi_buf_puts(&b, i ? "," : "");
        cdi_buf_puts(&b, v[i]);
    }
    cdi_log_str(l, key, b.data ? b.data : "");
    cdi_buf_free(&b);
}

void cdi_log_end(logline *l)
{
    cdi_buf_puts(&l->b, l->w->o->json_log ? "}\n" : "\n");
    if (!l->b.failed) {
        fwrite(l->b.data, 1, l->b.len, l->w->log);
        fflush(l->w->log);
    }
    cdi_buf_free(&l->b);
}

void cdi_watch_note_error(watch *w, const char *event, const char *what, const char *msg)
{
    w->errors++;
    cdi_watch_set_str(&w->last_error, msg);
    w->status_dirty = 1;
    logline l;
    cdi_log_begin(&l, w, event);
    if (what)
        cdi_log_str(&l, "what", what);
    cdi_log_str(&l, "error", msg);
    cdi_log_end(&l);
}

void cdi_watch_log_story(watch *w, const char *event, const char *id, const cd_decision *dec,
                         const char *origin)
{
    w->stories++;
    w->status_dirty = 1;
    for (size_t i = 0; i < dec->nroute; i++)
        cdi_watch_count_dest(w, dec->route[i]);
    logline l;
    cdi_log_begin(&l, w, event);
    cdi_log_str(&l, "id", id);
    cdi_log_list(&l, "route", dec->route, dec->nroute);
    if (origin)   /* a routed story: rule=- is the fallback; a release has no rule */
        cdi_log_str(&l, "rule", dec->rule);
    cdi_log_str(&l, "outcome", cd_outcome_name(dec->outcome));
    if (dec->outcome == CD_OUTCOME_HELD) {
        char when[40];
        cdi_iso8601_format(dec->held_until, when, sizeof when);
        cdi_log_str(&l, "held_until", when);
    }
    if (origin)
        cdi_log_str(&l, "from", origin);
    if (dec->error)
        cdi_log_str(&l, "error", dec->error);
    cdi_log_end(&l);
    if (dec->error) {
        w->errors++;
        cdi_watch_set_str(&w->last_error, dec->error);
    }
}
