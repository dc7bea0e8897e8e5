/*
 * deliver.c - destinations: creation, dispatch to the kinds and the
 * dead-letter folder (see deliver.h for the design).
 *
 * The kinds live in deliver_file.c (folder, jsonl, stdout) and
 * deliver_url.c (HTTP POST), deliver_stream.c (Redis XADD); this file holds what they share.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/clock.h"
#include "deliver/deliver.h"
#include "deliver/deliver_impl.h"
#include "deliver/deliver_spool.h"
#include "base/buf.h"
#include "base/fs.h"
#include "base/json.h"

void cdi_dest_opts_default(cd_dest_opts *opts)
{
    memset(opts, 0, sizeof *opts);
    opts->kind = CD_DEST_FOLDER;
    opts->timeout_s = 10;
    opts->connect_timeout_s = 5;
    opts->retries = 3;
    opts->backoff_s = 0.5;
}

cd_status cdi_dest_new(const cd_dest_opts *opts, cd_dest **out, cd_error *err)
{
    *out = NULL;
    if (opts->kind != CD_DEST_STDOUT && (!opts->target || !*opts->target))
        return cd_error_set(err, CD_ERR_ARG, "destination needs a path or URL");
    cd_dest *d = calloc(1, sizeof *d);
    if (!d)
        return cd_error_set(err, CD_ERR_NOMEM, "out of memory");
    d->opts = *opts;
    d->fd = -1;
    d->staged.fd = -1;
    d->target = strdup(opts->target ? opts->target : "-");
    d->name = strdup(opts->name ? opts->name : d->target ? d->target : "-");
    d->dead_letter = opts->dead_letter ? strdup(opts->dead_letter) : NULL;
    d->own_dead_letter = opts->dead_letter != NULL;
    if (!d->target || !d->name || (opts->dead_letter && !d->dead_letter)) {
        cdi_dest_free(d);
        return cd_error_set(err, CD_ERR_NOMEM, "out of memory");
    }
    d->opts.target = d->target;
    d->opts.name = d->name;
    d->opts.dead_letter = NULL;   /* d->dead_letter, which may change */
    d->opts.spool = NULL;         /* bound below, once the destination is whole */
    cd_status st = CD_OK;
    if (opts->kind == CD_DEST_URL)
        st = cdi_url_open(d, err);
    else if (opts->kind == CD_DEST_STREAM)
        st = cdi_stream_open(d, err);
    if (st == CD_OK && (opts->kind == CD_DEST_URL || opts->kind == CD_DEST_STREAM) &&
        opts->spool) {
        d->opts.spool = opts->spool;
        if ((st = cdi_spool_bind(opts->spool, d, err)) != CD_OK)
            d->opts.spool = NULL;
    }
    if (st != CD_OK) {
        cdi_dest_free(d);
        return st;
    }
    *out = d;
    return CD_OK;
}

void cdi_dest_free(cd_dest *d)
{
    if (!d)
        return;
    if (d->opts.spool)
        cdi_spool_unbind(d->opts.spool, d);
    cdi_story_stage_free(&d->staged);
    if (d->fd >= 0)
        close(d->fd);
    if (d->opts.kind == CD_DEST_URL)
        cdi_url_close(d);
    if (d->opts.kind == CD_DEST_STREAM) {
        cd_error e;
        cdi_stream_flush(d, &e);   /* nothing sent is left unanswered */
        cdi_stream_close(d);
    }
    free(d->target);
    free(d->name);
    free(d->dead_letter);
    free(d);
}

cd_dest_kind cdi_dest_get_kind(const cd_dest *d)
{
    return d->opts.kind;
}

const char *cdi_dest_name(const cd_dest *d)
{
    return d->name;
}

const char *cdi_dest_target(const cd_dest *d)
{
    return d->target;
}

void cdi_dest_stage(cd_dest *d, const char *id, const char *json, size_t len)
{
    if (d->opts.kind == CD_DEST_FOLDER)
        cdi_deliver_folder_stage(d, id, json, len);
}

cd_status cdi_dest_deliver(cd_dest *d, const char *id, const char *json, size_t len,
                           cd_error *err)
{
    switch (d->opts.kind) {
    case CD_DEST_FOLDER: return cdi_deliver_folder(d, id, json, len, err);
    case CD_DEST_JSONL: return cdi_deliver_jsonl(d, json, len, err);
    case CD_DEST_STDOUT: return cdi_deliver_stdout(json, len, err);
    case CD_DEST_URL:
        if (d->opts.spool)
            return cdi_spool_add(d->opts.spool, d->name, id, json, len, err);
        return cdi_dest_send_retrying(d, id, json, len, err);
    case CD_DEST_STREAM: return cdi_stream_append(d, id, json, len, err);
    }
    return cd_error_set(err, CD_ERR_ARG, "unknown destination kind");
}

cd_status cdi_dest_send_retrying(cd_dest *d, const char *id, const char *json, size_t len,
                                 cd_error *err)
{
    double wait = d->opts.backoff_s;
    unsigned tries = 0;
    int permanent;
    for (;;) {
        cd_status st = cdi_dest_send_once(d, id, json, len, &permanent, err);
        tries++;
        if (st == CD_OK)
            return CD_OK;
        if (permanent || tries > d->opts.retries)
            break;
        cdi_sleep(wait);
        wait = wait * 2 > 30 ? 30 : wait * 2;
    }
    if (err && tries > 1) {
        size_t n = strlen(err->msg);
        snprintf(err->msg + n, sizeof err->msg - n, " (after %u attempts)", tries);
    }
    return CD_ERR_NET;
}

void cdi_dest_set_batching(cd_dest *d, int on)
{
    d->batching = on && d->opts.kind == CD_DEST_STREAM && d->opts.spool;
}

void cdi_dest_flush_begin(cd_dest *d)
{
    if (d->opts.kind == CD_DEST_STREAM)
        cdi_stream_flush_begin(d);
}

cd_status cdi_dest_flush(cd_dest *d, cd_error *err)
{
    return d->opts.kind == CD_DEST_STREAM ? cdi_stream_flush(d, err) : CD_OK;
}

cd_status cdi_dest_send_once(cd_dest *d, const char *id, const char *json, size_t len,
                             int *permanent, cd_error *err)
{
    if (d->opts.kind == CD_DEST_STREAM)
        return cdi_stream_append_once(d, id, json, len, permanent, err);
    return cdi_url_post_once(d, json, len, permanent, err);
}

cd_status cdi_dest_set_dead_letter(cd_dest *d, const char *dir, cd_error *err)
{
    if (d->own_dead_letter)
        return CD_OK;
    char *copy = dir ? strdup(dir) : NULL;
    if (dir && !copy)
        return cd_error_set(err, CD_ERR_NOMEM, "out of memory");
    free(d->dead_letter);
    d->dead_letter = copy;
    return CD_OK;
}

const char *cdi_dest_dead_letter_dir(const cd_dest *d)
{
    return d->dead_letter ? d->dead_letter : CD_DEAD_LETTER_DEFAULT;
}

cd_status cdi_dest_dead_letter(cd_dest *d, const char *id, const char *why,
                               const char *json, size_t len, cd_error *err)
{
    const char *dir = d->dead_letter ? d->dead_letter : CD_DEAD_LETTER_DEFAULT;
    const char *dest_name = d->name;
    char safe_id[160], safe_dest[80];
    cdi_safe_filename(id, safe_id, sizeof safe_id);
    cdi_safe_filename(dest_name, safe_dest, sizeof safe_dest);
    cd_buf name = {0}, env = {0};
    cdi_buf_printf(&name, "%s.%s", safe_id, safe_dest);
    cdi_buf_puts(&env, "{\"destination\":");
    cdi_buf_json_string(&env, dest_name, strlen(dest_name));
    cdi_buf_puts(&env, ",\"error\":");
    cdi_buf_json_string(&env, why, strlen(why));
    cdi_buf_printf(&env, ",\"failed_at\":%lld,\"story\":", (long long)time(NULL));
    cdi_buf_put(&env, json, len);
    cdi_buf_puts(&env, "}");
    cd_status st;
    if (name.failed || env.failed)
        st = cd_error_set(err, CD_ERR_NOMEM, "out of memory");
    else if ((st = cdi_mkdirs(dir, err)) == CD_OK)
        st = cdi_folder_write_new(dir, name.data, env.data, env.len, err);
    cdi_buf_free(&name);
    cdi_buf_free(&env);
    return st;
}
