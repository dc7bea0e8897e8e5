/*
 * trainer_internal.h - what trainer.c (counting, saving) and calibrate.c
 * (held-out folds, calibration, refinement) share about a trainer.
 */
#ifndef CD_TRAINER_INTERNAL_H
#define CD_TRAINER_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "copydesk/model.h"
#include "model/nb.h"
#include "model/vocab.h"

/* Texts beyond this many are counted but not kept for calibration. */
#define MAX_STORED_DOCS 200000
/* A model given corrections is calibrated again once the stories added or
 * replaced since its calibration are more than this share of them. */
#define RECALIBRATE_SHARE 0.01
/* Fold scores a model records. */
#define TR_MAX_FOLD_SCORES 10
/* Labels one training text may carry. */
#define MAX_LABELS_PER_TEXT 64

typedef struct plist {
    uint32_t *label;
    double *count;
    uint32_t n, cap;
} plist;

typedef struct stored_docs {
    uint32_t *terms, *tf;   /* concatenated (term, tf) pairs */
    size_t len, cap;
    size_t *start;          /* doc i is [start[i], start[i+1]) */
    uint32_t *labels;       /* concatenated label ids */
    size_t labels_len, labels_cap;
    size_t *label_start;
    uint32_t *id;           /* per doc: its id in the trainer's id vocabulary, or UINT32_MAX */
    uint8_t *flags;         /* per doc: DOC_CORRECTION, DOC_DEAD */
    uint32_t *wcol;         /* per doc: its column in the trainer's warm point, or UINT32_MAX */
    size_t flags_cap, id_cap, wcol_cap;
    size_t n, n_cap;
} stored_docs;

#define DOC_CORRECTION 1u   /* added to a trained model (MF_DOC_CORRECTION) */
#define DOC_DEAD 2u         /* replaced by a later story of the same id */

/* A story added but not yet tokenized: stories are tokenized in batches,
 * on the cores (token_batch.h), then counted in the order they came. */
typedef struct pending_story {
    char *text;
    size_t len;
    uint32_t sid;           /* its id in the trainer's id vocabulary, or UINT32_MAX */
    uint32_t label_off;     /* its labels: pend_labels[label_off ...] */
    uint32_t nlabels;
} pending_story;

/* Stories or bytes pending before a batch is tokenized. */
#define PENDING_STORIES 512
#define PENDING_BYTES (8u << 20)

struct cd_trainer {
    cd_tok_opts tok;
    cd_tokenizer *tokenizer;
    nb_params params;
    cd_vocab vocab;
    double *df, *total;
    plist *posts;
    uint32_t terms_cap;
    cd_vocab label_vocab;
    nb_label *labels;
    uint8_t *calibrated;    /* labels carried over from a model */
    uint32_t labels_cap;
    uint32_t *tf;           /* dense scratch: frequency of each term in the text */
    uint32_t *touched;      /* distinct terms of the text */
    size_t ntouched, touched_cap;
    uint32_t *doc_tf;       /* frequencies of the distinct terms */
    double *doc_f;          /* their features */
    size_t doc_cap;
    int failed;             /* out of memory while tokenizing */
    int any_multi;
    stored_docs docs;
    cd_vocab ids;           /* story ids seen */
    uint32_t *id_doc;       /* per id: the stored doc + 1, 0 for none */
    size_t id_doc_cap;
    int from_model;         /* made by cd_trainer_from_model: stories are corrections */
    int dead;               /* some stored doc was replaced: recount before saving */
    int settle;             /* cd_trainer_set_settle */
    uint32_t uncalibrated;  /* stories added or replaced since the calibration */
    uint32_t model_labels;  /* labels the model had */
    double *warm;           /* the model's refinement as a dual point: model labels x warm_n */
    size_t warm_n;
    int cv_picked;
    int cv_alt;             /* kind auto, multi-label: a setting without refinement to weigh */
    double cv_alt_mean;     /* against the refined preset: its mean fold score */
    nb_params cv_alt_params;
    struct token_batch *batch;  /* the batch tokenizer, made at the first batch */
    pending_story *pend;
    size_t npend, pend_cap, pend_bytes;
    uint32_t *pend_labels;
    size_t pend_labels_len, pend_labels_cap;
    uint32_t *id_pend;      /* per id: stories pending under it */
    size_t id_pend_cap, id_pend_seen;
    int pend_failed;        /* out of memory while tokenizing a batch */
    uint32_t cv_nscores;
    double cv_scores[10];
};

/* The counts as model arrays (nb.h), with the label names. */
typedef struct compiled {
    nb_params params;
    nb_view view;
    const char **label_names;
} compiled;

/* Training features of one text: log(1 + tf) or tf, length-normalized or
 * not, as P says; *sum gets their sum. */
void tr_features(const nb_params *P, const uint32_t *tf, size_t n, double *f, double *sum);

/* The posting of label c in term w's postings (sorted by label), or NULL. */
nb_post *tr_find_posting(const nb_view *v, uint32_t w, uint32_t c);

/* Whether the weights of full are refined: multi-label complement models
 * whose every training text is stored. */
int tr_refining(const cd_trainer *t, const nb_params *P);

/* Refine v's weights on the stored texts outside fold skip (all of them
 * when fold is NULL), starting from the dual point warm_in of all the
 * stored texts (NULL: a cold start); warm_out (NULL, or labels x stored
 * texts when fold is NULL) gets the point reached. */
int tr_refine_view(const cd_trainer *t, nb_view *v, const uint32_t *fold, uint32_t skip,
                   const double *warm_in, double *warm_out, cd_progress_fn progress,
                   const char *stage, void *ud);

/* Fit the probabilities and thresholds of full on held-out folds of the
 * stored texts; the folds' refinement starts from warm (the whole set's
 * dual point, or NULL).  fold_out (TR_MAX_FOLD_SCORES entries) gets each
 * fold's score as the model decides (accuracy, or the mean of micro- and
 * macro-F1), *nfold_out how many. */
cd_status tr_calibrate(const cd_trainer *t, compiled *full, const double *warm,
                       double *fold_out, uint32_t *nfold_out,
                       cd_progress_fn progress, void *ud, cd_error *err);

/* The folds full's settings ask for, at most TR_MAX_FOLD_SCORES; 0 when
 * there are too few texts to hold any out. */
uint32_t tr_folds(const cd_trainer *t, const nb_params *P);

/* Each fold's held-out accuracy of full's settings (single-label, naive
 * Bayes without refinement), into out; returns the folds, 0 for none, -1
 * when out of memory. */
int tr_cv_accuracy(const cd_trainer *t, const compiled *full, double *out);

/* Each fold's held-out (micro+macro F1)/2 of full's settings, a
 * multi-label model without refinement, calibrated on those folds as
 * training calibrates; returns the folds, 0 for none (or a refined
 * setting: its calibration scores it), -1 when out of memory. */
int tr_cv_multi(const cd_trainer *t, const compiled *full, double *out);

#endif
