/*
 * fuzz_model.c - libFuzzer target: the model loader on any bytes.
 *
 * Each input is opened twice with cd_model_open_buffer: as it is (almost
 * always refused by the size or checksum check), and with the header's
 * file size and XXH3 checksum rewritten to match the bytes, so that the
 * fuzzer reaches the structural checks behind them (sections, settings,
 * label and term tables, postings, hash table).  A model that opens is
 * used the way the engine uses one: information, label look-ups,
 * classification of a few texts with explanations, and a trainer started
 * from its counts (incremental training), which must accept a new text.
 * Nothing may be read outside the buffer (ASan) and every probability
 * must be a number in [0,1].
 */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <xxhash.h>

#include "copydesk.h"

#define SIZE_AT 16      /* mf_header: magic[8], version, byte_order, file_size */
#define SUM_AT 24       /* then the checksum over [32, file_size) */
#define CHECKED_FROM 32

static const char *const texts[] = {
    "Tariffs on steel imports rise as the trade dispute deepens",
    "The striker scored twice and the club won the cup",
    "",
    "\xC3\xA9lys\xC3\xA9\x65 talks \xFF\xFE broken \xE2\x82 bytes",
};

static void use(const cd_model *m)
{
    cd_model_info info;
    cd_model_get_info(m, &info);
    for (uint32_t i = 0; i < info.labels; i++) {
        const char *name = cd_model_label(m, i);
        if (!name)
            abort();
        int64_t k = cd_model_find_label(m, name);
        if (k < 0 || k >= (int64_t)info.labels)
            abort();
        (void)cd_model_label_docs(m, i);
        (void)cd_model_label_threshold(m, i);
    }
    cd_classifier *c;
    cd_error err;
    if (cd_classifier_new(m, &c, &err) != CD_OK)
        return;
    for (size_t t = 0; t < sizeof texts / sizeof texts[0]; t++) {
        const cd_label_score *sc;
        size_t n;
        if (cd_classify(c, texts[t], strlen(texts[t]), &sc, &n, &err) != CD_OK)
            continue;
        if (n != info.labels)
            abort();
        for (size_t i = 0; i < n; i++) {
            if (!(sc[i].p >= 0 && sc[i].p <= 1) || sc[i].label >= info.labels)
                abort();
            cd_token_weight tw[4];
            size_t k = cd_classifier_explain(c, sc[i].label, tw, 4);
            for (size_t j = 0; j < k; j++)
                if (!tw[j].token || tw[j].len == 0)
                    abort();
        }
    }
    cd_classifier_free(c);

    cd_trainer *t;
    if (cd_trainer_from_model(m, &t, &err) == CD_OK) {
        const char *label = cd_model_label(m, 0);
        if (label && *label)
            cd_trainer_add(t, texts[0], strlen(texts[0]), &label, 1, &err);
        cd_trainer_free(t);
    }
}

static void open_and_use(const uint8_t *data, size_t size)
{
    cd_model *m;
    cd_error err;
    if (cd_model_open_buffer(data, size, &m, &err) == CD_OK) {
        use(m);
        cd_model_close(m);
    } else if (!err.msg[0]) {
        abort();   /* a refusal always says why */
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    open_and_use(data, size);
    if (size < CHECKED_FROM)
        return 0;
    uint8_t *fixed = malloc(size);
    if (!fixed)
        return 0;
    memcpy(fixed, data, size);
    uint64_t n = size, sum;
    memcpy(fixed + SIZE_AT, &n, 8);
    sum = XXH3_64bits(fixed + CHECKED_FROM, size - CHECKED_FROM);
    memcpy(fixed + SUM_AT, &sum, 8);
    open_and_use(fixed, size);
    free(fixed);
    return 0;
}
