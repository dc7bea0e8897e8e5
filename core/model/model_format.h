/*
 * model_format.h - the model file, byte by byte.
 *
 *   offset 0   mf_header: magic "CDMODEL\0", format version, byte-order
 *              mark, file size, checksum, and the offset and size of each
 *              section.  The checksum is XXH3-64 over every byte after the
 *              checksum field, so any change anywhere is caught.
 *   sections   (8-byte aligned, in this order)
 *     SETTINGS     mf_settings: tokenizer and classifier settings, totals
 *     LABELS       nb_label[nlabels]: counts, weights, calibration
 *     LABEL_OFFS   uint32[nlabels + 1]: label name i is bytes [off[i], off[i+1])
 *     LABEL_NAMES  the label names, not NUL-terminated
 *     TERMS        nb_term[nterms]: postings range, name, counts, weights
 *     TERM_NAMES   the term names, not NUL-terminated
 *     POSTS        nb_post[nposts]: (label, delta, count) per term, by label
 *     HASH         uint32[hash_slots]: term id + 1 (0 empty), slot chosen by
 *                  XXH3-64 of the name modulo hash_slots (a power of two),
 *                  linear probing; at least one slot is empty.
 *     DOCS         mf_doc[ndocs]: the training stories, as the trainer keeps
 *                  them (so that a correction can replace one and the model
 *                  be refitted exactly as a retrain would)
 *     DOC_TERMS    uint32 (term, frequency) pairs of the stories
 *     DOC_LABELS   uint32 label ids of the stories
 *     DOC_IDS      the stories' ids, not NUL-terminated
 *
 * Terms are written most frequent first (by document frequency), so that
 * a story's common words, their names and postings, share cache lines.
 *
 * The arrays are stored in the host's layout (little-endian; the byte-order
 * mark refuses other hosts), so a mapped model is scored in place without
 * decoding.  Counts are kept next to the weights, and the training
 * stories after them, so that a model can be trained further.  Scoring
 * never reads the stories: they cost the checksum at open, not memory.
 */
#ifndef CD_MODEL_FORMAT_H
#define CD_MODEL_FORMAT_H

#include <stdint.h>

#include "model/nb.h"

#define MF_MAGIC "CDMODEL"      /* 8 bytes with the NUL */
#define MF_VERSION 3u
#define MF_BYTE_ORDER 0x01020304u
#define MF_CHECKED_FROM 32u     /* the checksum covers [32, file_size) */

enum {
    MF_SETTINGS, MF_LABELS, MF_LABEL_OFFS, MF_LABEL_NAMES,
    MF_TERMS, MF_TERM_NAMES, MF_POSTS, MF_HASH,
    MF_DOCS, MF_DOC_TERMS, MF_DOC_LABELS, MF_DOC_IDS,
    MF_NSECTIONS
};

#define MF_MAX_FOLD_SCORES 10

typedef struct mf_section {
    uint64_t offset;
    uint64_t size;
} mf_section;

typedef struct mf_header {
    char magic[8];
    uint32_t version;
    uint32_t byte_order;
    uint64_t file_size;
    uint64_t checksum;
    uint32_t nsections;
    uint32_t reserved;
    mf_section sections[MF_NSECTIONS];
} mf_header;

typedef struct mf_settings {
    double alpha;
    double alpha_rest;
    double docs;
    double mass;
    double temperature;
    uint32_t tok_min_len, tok_max_len;
    uint8_t tok_stopwords, tok_bigrams, tok_stem, tok_fold_numbers;
    uint8_t log_tf, idf, length_norm, weight_norm;
    uint32_t kind, mode, cv_folds, multilabel;
    uint32_t nlabels, nterms, nposts, hash_slots;
    uint32_t min_df, refine, refined;
    uint32_t tok_version;   /* CD_TOK_VERSION the model was trained with */
    uint32_t at_least_one;  /* multi-label: a story always gets a label */
    uint32_t ndocs;         /* training stories kept (DOCS) */
    uint32_t corrections;   /* of those, corrections (added to a trained model) */
    uint32_t uncalibrated;  /* stories added or replaced since the last calibration */
    uint32_t cv_picked;     /* kind auto settled by cross-validation */
    uint32_t cv_nscores;    /* fold scores of the settings kept */
    double cv_scores[MF_MAX_FOLD_SCORES];
} mf_settings;

/* A training story kept in the file. */
typedef struct mf_doc {
    uint64_t term_off;      /* first (term, frequency) pair in DOC_TERMS */
    uint32_t nterms;
    uint32_t label_off;     /* first label in DOC_LABELS */
    uint32_t nlabels;
    uint32_t id_off;        /* the id in DOC_IDS */
    uint32_t id_len;
    uint32_t flags;         /* MF_DOC_CORRECTION */
} mf_doc;

#define MF_DOC_CORRECTION 1u

_Static_assert(sizeof(mf_header) == 40 + 16 * MF_NSECTIONS, "mf_header has no padding");
_Static_assert(sizeof(mf_settings) == 208, "mf_settings has no padding");
_Static_assert(sizeof(mf_doc) == 32, "mf_doc has no padding");
_Static_assert(sizeof(nb_label) == 64, "nb_label layout");
_Static_assert(sizeof(nb_term) == 40, "nb_term layout");
_Static_assert(sizeof(nb_post) == 16, "nb_post layout");

#endif
