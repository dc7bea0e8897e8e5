/*
 * deliver_impl.h - what the destination kinds share, private to
 * core/deliver*.c: the destination object and one entry per kind.
 */
#ifndef CD_DELIVER_IMPL_H
#define CD_DELIVER_IMPL_H

#include "deliver/deliver.h"

struct cd_dest {
    cd_dest_opts opts;  /* opts.target points to target */
    char *target;       /* owned copy of the path or URL */
    int fd;             /* jsonl: the file, opened at first delivery */
    int dir_ready;      /* folder: created */
    void *curl;         /* url: the CURL easy handle, reused between posts */
    char *curl_errbuf;  /* url: CURLOPT_ERRORBUFFER */
};

cd_status cd_deliver_folder(cd_dest *d, const char *id, const char *json, size_t len,
                            cd_error *err);
cd_status cd_deliver_jsonl(cd_dest *d, const char *json, size_t len, cd_error *err);
cd_status cd_deliver_stdout(const char *json, size_t len, cd_error *err);

cd_status cd_url_open(cd_dest *d, cd_error *err);
void cd_url_close(cd_dest *d);
cd_status cd_url_post(cd_dest *d, const char *json, size_t len, cd_error *err);

#endif
