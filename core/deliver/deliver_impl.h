/*
 * deliver_impl.h - what the destination kinds share, private to
 * core/deliver/: the destination object and one entry per kind.
 */
#ifndef CD_DELIVER_IMPL_H
#define CD_DELIVER_IMPL_H

#include <stdint.h>

#include "deliver/deliver.h"
#include "base/buf.h"
#include "base/fs.h"

struct cd_dest {
    cd_dest_opts opts;  /* opts.target and opts.name point to target and name */
    char *target;       /* owned copy of the path or URL */
    char *name;         /* owned copy of the name */
    char *dead_letter;  /* owned; NULL: CD_DEAD_LETTER_DEFAULT */
    int own_dead_letter;/* given in the options: the desk's default does not apply */
    int fd;             /* jsonl: the file, opened at first delivery */
    int dir_ready;      /* folder: created */
    cdi_story_stage staged; /* folder: the file of cdi_dest_stage, or nothing */
    char staged_name[200];   /* its final name */
    size_t staged_len;  /* the JSON it holds: its length and hash */
    uint64_t staged_hash;
    void *curl;         /* url: the CURL easy handle, reused between posts */
    char *curl_errbuf;  /* url: CURLOPT_ERRORBUFFER */
    struct cd_redis *redis; /* stream: the connection (base/redis.h) */
    char *stream;       /* stream: owned copy of the key */
    char *dedupe_prefix;/* stream: the key prefix of remembered ids */
    char sha[41];       /* stream: the append script's SHA1, once loaded ("": not yet) */
    int batching;       /* stream with a spool: appends pipelined until cdi_dest_flush */
    struct stream_sent *sent; /* stream: appends queued for the batch's call */
    size_t nsent, sent_cap;
    char batch_sha[41]; /* stream: the batch script's SHA1, once loaded ("": not yet) */
    int flushing;       /* stream: the batch's call is written, its answer not read */
    int flush_failed;   /* stream: the batch was not appended: kept (spool, dead letter) */
    int flush_permanent;/* ... refused for good: dead letter */
    char flush_why[512];/* ... why */
};

cd_status cdi_deliver_folder(cd_dest *d, const char *id, const char *json, size_t len,
                             cd_error *err);
void cdi_deliver_folder_stage(cd_dest *d, const char *id, const char *json, size_t len);
/* Remove a staged file that was not delivered. */
void cdi_dest_unstage(cd_dest *d);
cd_status cdi_deliver_jsonl(cd_dest *d, const char *json, size_t len, cd_error *err);
cd_status cdi_deliver_stdout(const char *json, size_t len, cd_error *err);

cd_status cdi_url_open(cd_dest *d, cd_error *err);
void cdi_url_close(cd_dest *d);
/* One attempt, no waiting (the spool's retries are its own); *permanent
 * says that the endpoint refused the story for good (a 4xx answer other
 * than 408 and 429, or a URL curl cannot use): sending it again cannot
 * help. */
cd_status cdi_url_post_once(cd_dest *d, const char *json, size_t len, int *permanent,
                            cd_error *err);

cd_status cdi_stream_open(cd_dest *d, cd_error *err);
void cdi_stream_close(cd_dest *d);
/* Send with the destination's retries and backoff (url and stream: one
 * attempt at a time with cdi_dest_send_once, waits doubling to 30 s). */
cd_status cdi_dest_send_retrying(cd_dest *d, const char *id, const char *json, size_t len,
                                 cd_error *err);
/* Append with the destination's retries and backoff. */
cd_status cdi_stream_append(cd_dest *d, const char *id, const char *json, size_t len,
                            cd_error *err);
/* One attempt (the spool's); *permanent: the server refused the story for
 * good (an error reply other than a missing script or a loading server). */
cd_status cdi_stream_append_once(cd_dest *d, const char *id, const char *json, size_t len,
                                 int *permanent, cd_error *err);
cd_status cdi_stream_probe(const cd_dest *d, cd_error *err);
/* Send the queued batch without waiting (cdi_stream_flush reads the
 * answer and keeps what was not appended). */
void cdi_stream_flush_begin(cd_dest *d);
cd_status cdi_stream_flush(cd_dest *d, cd_error *err);

/* One attempt of a url or stream destination, for the spool. */
cd_status cdi_dest_send_once(cd_dest *d, const char *id, const char *json, size_t len,
                             int *permanent, cd_error *err);

#endif
