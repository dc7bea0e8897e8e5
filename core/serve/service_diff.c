/*
 * service_diff.c - POST /v1/desk/diff: what a desk text would do if it
 * replaced the running desk, on the stories the archive holds (what this
 * service and its watch routed), computed as copydesk diff computes it
 * (core/desk/desk_diff.h): every story decided under both desks, never
 * delivered; the moves (from -> to, count), and per move the stories
 * that moved with the decisions and evidence of both sides.
 *
 * Both desks are loaded for the request from their texts, placed at the
 * desk file (its models and modules resolve as its own), on the thread
 * of the request: the pool of the running desk is not touched.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "desk/desk_diff.h"
#include "live/archive.h"
#include "serve/service.h"

typedef struct diff_run {
    cd_desk *base, *desk;
    size_t limit;
    cd_diff_moves moves;
    uint64_t stories, moved, unreadable, base_errors, new_errors;
} diff_run;

static void one(diff_run *r, cd_story *st)
{
    cd_error e;
    cd_diff_story d;
    if (cdi_archive_unwrap(st, NULL) != CD_OK ||
        cdi_diff_story(r->base, r->desk, st, &d, &e) != CD_OK) {
        r->unreadable++;
        cdi_diff_story_free(&d);
        return;
    }
    r->stories++;
    r->base_errors += (d.flags & CD_DIFF_BASE_ERROR) != 0;
    r->new_errors += (d.flags & CD_DIFF_NEW_ERROR) != 0;
    if (d.flags & CD_DIFF_MOVED) {
        r->moved++;
        cd_diff_move *m = cdi_diff_moves_add(&r->moves, d.from.data, d.from.len, d.to.data,
                                             d.to.len);
        if (m && m->listed < r->limit) {
            cdi_buf_puts(&m->changes, m->listed++ ? "," : "");
            cdi_diff_change_json(&m->changes, st, &d);
            if (m->changes.failed)
                r->moves.failed = 1;
        }
    }
    cdi_diff_story_free(&d);
}

static void report(diff_run *r, uint64_t version, size_t shared, int tokens, cd_buf *out)
{
    cdi_diff_moves_sort(&r->moves);
    cdi_buf_printf(out, "{\"base\":{\"version\":%llu},\"stories\":%llu,\"moved\":%llu,"
                        "\"unreadable\":%llu,\"rule_errors\":{\"base\":%llu,\"new\":%llu},"
                        "\"shared\":{\"models\":%zu,\"tokens\":%s},\"moves\":[",
                   (unsigned long long)version, (unsigned long long)r->stories,
                   (unsigned long long)r->moved, (unsigned long long)r->unreadable,
                   (unsigned long long)r->base_errors, (unsigned long long)r->new_errors, shared,
                   tokens ? "true" : "false");
    for (size_t i = 0; i < r->moves.n; i++) {
        cd_diff_move *m = &r->moves.v[i];
        cdi_buf_puts(out, i ? ",{\"from\":" : "{\"from\":");
        cdi_diff_names_json(out, m->from);
        cdi_buf_puts(out, ",\"to\":");
        cdi_diff_names_json(out, m->to);
        cdi_buf_printf(out, ",\"count\":%llu,\"listed\":%zu,\"stories\":[",
                       (unsigned long long)m->count, m->listed);
        if (m->changes.len)
            cdi_buf_put(out, m->changes.data, m->changes.len);
        cdi_buf_puts(out, "]}");
    }
    cdi_buf_puts(out, "]}");
}

int cdi_service_diff(cd_service *s, const char *text, size_t len, size_t limit, cd_buf *out)
{
    if (!len)
        return cdi_service_error(out, 400, "empty_body", "send the desk text to compare");
    if (len > ((size_t)4 << 20))
        return cdi_service_error(out, 413, "too_large", "a desk file is at most 4 MiB");
    if (memchr(text, '\0', len))
        return cdi_service_error(out, 400, "bad_desk", "a desk file is text: it holds a NUL byte");
    const cd_service_opts *o = cdi_service_get_opts(s);
    cd_desk_opts opts = o->desk;
    opts.spool_dir = NULL;   /* decided only: nothing is ever delivered */
    size_t blen;
    uint64_t version = 0;
    char *btext = cdi_service_text(s, &blen, &version);
    if (!btext)
        return cdi_service_error(out, 500, "internal", "out of memory");
    diff_run r = { .limit = limit };
    cd_error e;
    int status = 0;
    if (cd_desk_load_text(btext, blen, o->config, o->config, &opts, &r.base, &e) != CD_OK)
        status = cdi_service_error(out, 500, "internal", "the running desk: %s", e.msg);
    else if (cd_desk_load_text(text, len, o->config, o->config, &opts, &r.desk, &e) != CD_OK)
        status = cdi_service_error(out, 422, "bad_desk", "%s", e.msg);
    free(btext);
    if (status) {
        cd_desk_free(r.base);
        return status;
    }
    int tokens = 0;
    size_t shared = cd_desk_share(r.desk, r.base, &tokens);
    char *dir = cdi_archive_dir(o->state);
    cd_reader *rd = NULL;
    struct stat sb;
    if (!dir) {
        status = cdi_service_error(out, 500, "internal", "out of memory");
    } else if (stat(dir, &sb) == 0 && S_ISDIR(sb.st_mode) &&
               cd_reader_open((const char *const *)&dir, 1, NULL, &rd, &e) == CD_OK) {
        cd_story st;
        int rc;
        while (!r.moves.failed && (rc = cd_reader_next(rd, &st, &e)) != CD_READ_END) {
            if (rc == CD_READ_ERROR) {
                r.unreadable++;
                continue;
            }
            one(&r, &st);
            cd_story_clear(&st);
        }
    }
    /* no archive yet: no story to compare on */
    if (!status && r.moves.failed)
        status = cdi_service_error(out, 500, "internal", "out of memory");
    if (!status)
        report(&r, version, shared, tokens, out);
    cd_reader_free(rd);
    cdi_diff_moves_free(&r.moves);
    cd_desk_free(r.desk);   /* first: it shares from the base */
    cd_desk_free(r.base);
    free(dir);
    return status ? status : 200;
}
