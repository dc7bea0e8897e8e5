/*
 * copydesk/model.h - naive Bayes training, the model file, classification.
 *
 * A cd_trainer accumulates per-label term counts from labelled texts and
 * writes a model file.  A cd_model is a model file mapped read-only into
 * memory (mmap), checked (magic, version, checksum, every offset) before
 * use.  A cd_classifier holds the per-thread scratch space to classify
 * texts with one model; many classifiers can share one cd_model.
 *
 * The model file layout, the scoring formula and the threshold choice are
 * described in core/model/model_format.h and core/model/nb.c.
 */
#ifndef COPYDESK_MODEL_H
#define COPYDESK_MODEL_H

#include <stddef.h>
#include <stdint.h>
#include "error.h"
#include "tokenizer.h"

typedef enum cd_nb_kind {
    CD_NB_MULTINOMIAL = 0,  /* multinomial naive Bayes, additive smoothing */
    CD_NB_COMPLEMENT = 1,   /* complement naive Bayes (Rennie et al. 2003); for
                               multi-label data one label against the rest */
    CD_NB_AUTO = 2          /* chosen when the model is saved, with the settings
                               that do best for the data: see cd_nb_opts_default */
} cd_nb_kind;

typedef enum cd_label_mode {
    CD_LABELS_AUTO = 0,     /* multi-label when some training story has 2+ labels */
    CD_LABELS_SINGLE = 1,   /* one label per story: argmax */
    CD_LABELS_MULTI = 2     /* per-label decisions with tuned thresholds */
} cd_label_mode;

typedef struct cd_nb_opts {
    cd_nb_kind kind;        /* default CD_NB_AUTO */
    cd_label_mode mode;     /* default CD_LABELS_AUTO */
    double alpha;           /* additive smoothing of a label's own counts (default 0.01) */
    double alpha_rest;      /* additive smoothing of the counts of all other labels,
                               used by complement models (default 0.3) */
    uint8_t log_tf;         /* term frequency tf -> log(1 + tf) (default 1) */
    uint8_t idf;            /* weigh terms by inverse document frequency (default 1) */
    uint8_t length_norm;    /* L2-normalize each document's vector (default 1) */
    uint8_t weight_norm;    /* normalize each label's weight vector (default 1) */
    uint32_t min_df;        /* ignore terms found in fewer training documents (default 3) */
    uint32_t cv_folds;      /* folds used to calibrate (default 5) */
    uint32_t refine;        /* multi-label complement models: at most this many
                               passes of the discriminative refinement of the
                               weights (logistic regression solved to convergence,
                               core/model/refine.h), 0 for plain naive Bayes
                               (default 60) */
    uint32_t pinned;        /* CD_NB_PIN_* bits: settings that kind CD_NB_AUTO
                               must keep as given */
    uint8_t at_least_one;   /* multi-label: give every story its nearest label
                               even when no label is likely (default 0: a story
                               may get no label) */
} cd_nb_opts;

enum {
    CD_NB_PIN_ALPHA = 1 << 0, CD_NB_PIN_ALPHA_REST = 1 << 1, CD_NB_PIN_LOG_TF = 1 << 2,
    CD_NB_PIN_IDF = 1 << 3, CD_NB_PIN_LENGTH_NORM = 1 << 4, CD_NB_PIN_WEIGHT_NORM = 1 << 5,
    CD_NB_PIN_MIN_DF = 1 << 6, CD_NB_PIN_REFINE = 1 << 7
};

/* The defaults: kind CD_NB_AUTO, which the trainer resolves when it saves,
 * once it knows whether the data is single- or multi-label:
 *   single-label: multinomial naive Bayes on raw term counts (no log tf,
 *     idf or normalization), alpha 0.05, min_df 1;
 *   multi-label: complement naive Bayes, one label against the rest, on
 *     log(1 + tf) * idf, length-normalized, alpha 0.01, alpha_rest 0.3,
 *     min_df 3, refined by 60 iterations of logistic regression.
 * Settings marked in pinned are kept as given.  The fields below hold the
 * multi-label values, which are also how texts are counted while training
 * (the trainer recounts its stored texts when the single-label preset
 * wants raw counts). */
CD_API void cd_nb_opts_default(cd_nb_opts *opts);

/* ---- training ---------------------------------------------------------- */

typedef struct cd_trainer cd_trainer;

CD_API cd_status cd_trainer_new(const cd_tok_opts *tok, const cd_nb_opts *nb,
                                cd_trainer **out, cd_error *err);

typedef struct cd_model cd_model;

/* A trainer that starts from a model's counts (incremental training):
 * texts added later add to them.  Tokenizer and classifier settings are
 * the model's. */
CD_API cd_status cd_trainer_from_model(const cd_model *model, cd_trainer **out, cd_error *err);

/* Add one labelled text (nlabels >= 1), with no id. */
CD_API cd_status cd_trainer_add(cd_trainer *t, const char *text, size_t len,
                         const char *const *labels, size_t nlabels, cd_error *err);

/* Add one labelled story keyed by its id (NULL or "": none).  A story whose
 * id the trainer already holds replaces the earlier one: its counts are
 * taken out (the model keeps its training stories), so that correcting a
 * story twice trains on the last answer only; *replaced (may be NULL) says
 * so.  A trainer made from a model (cd_trainer_from_model) records the
 * story as a correction and refuses a label the model does not have
 * (CD_ERR_ARG, the message lists the model's labels) unless flags has
 * CD_ADD_NEW_LABELS. */
enum { CD_ADD_NEW_LABELS = 1 };
CD_API cd_status cd_trainer_add_story(cd_trainer *t, const char *id, const char *text, size_t len,
                               const char *const *labels, size_t nlabels, unsigned flags,
                               int *replaced, cd_error *err);

CD_API size_t cd_trainer_docs(const cd_trainer *t);

/* Tune thresholds and write the model file (to a temporary name, then
 * renamed into place).  progress, when not NULL, is called with a stage
 * name and a fraction in [0,1]. */
typedef void (*cd_progress_fn)(const char *stage, double fraction, void *ud);
CD_API cd_status cd_trainer_save(cd_trainer *t, const char *path,
                                 cd_progress_fn progress, void *ud, cd_error *err);

/* A trainer made from a model keeps the model's calibration (each label's
 * sigmoid and threshold, fitted on held-out folds) while the stories added
 * or replaced since are at most 1% of them, and saves once.  With settle
 * on, a save that kept the calibration then fits it again and writes the
 * model a second time: the first file has the corrections at once, the
 * second is what a retrain on the same stories makes. */
CD_API void cd_trainer_set_settle(cd_trainer *t, int settle);

CD_API void cd_trainer_free(cd_trainer *t);

/* ---- the model file ---------------------------------------------------- */

CD_API cd_status cd_model_open(const char *path, cd_model **out, cd_error *err);
/* Open a model from a memory buffer (copied); for tests and fuzzing. */
CD_API cd_status cd_model_open_buffer(const void *data, size_t len, cd_model **out, cd_error *err);
CD_API void cd_model_close(cd_model *m);

typedef struct cd_model_info {
    uint32_t format_version;
    cd_nb_opts nb;
    cd_tok_opts tok;
    int multilabel;        /* 1 when per-label thresholds decide */
    int refined;           /* 1 when the weights were refined (refine.h) */
    uint64_t docs;         /* training documents */
    uint32_t labels;
    uint32_t terms;        /* vocabulary size */
    uint64_t file_bytes;
    uint64_t stories_kept; /* training stories the file keeps (for corrections) */
    uint64_t corrections;  /* of those, corrections added to a trained model */
    uint64_t uncalibrated; /* stories added or replaced since the last calibration */
    int at_least_one;      /* multi-label: every story gets its nearest label */
    int cv_picked;         /* kind auto: the settings were chosen by cross-validation */
    uint32_t cv_nscores;   /* the kept settings' score on each fold (accuracy, or */
    double cv_scores[10];  /* the mean of micro- and macro-F1 for multi-label) */
} cd_model_info;

CD_API void cd_model_get_info(const cd_model *m, cd_model_info *info);
CD_API const char *cd_model_label(const cd_model *m, uint32_t i);
/* Index of a label by name, or -1. */
CD_API int64_t cd_model_find_label(const cd_model *m, const char *name);
/* Training documents that carried label i. */
CD_API uint64_t cd_model_label_docs(const cd_model *m, uint32_t i);
/* The decision threshold of label i (probability scale, multi-label models). */
CD_API double cd_model_label_threshold(const cd_model *m, uint32_t i);

/* ---- classification ---------------------------------------------------- */

typedef struct cd_label_score {
    uint32_t label;   /* index into the model's labels */
    double p;         /* probability in [0,1] */
    int chosen;       /* 1 when the model assigns this label */
} cd_label_score;

typedef struct cd_token_weight {
    const char *token;  /* points into the model (valid while it is open) */
    size_t len;
    double weight;      /* contribution to the label's score */
} cd_token_weight;

typedef struct cd_classifier cd_classifier;

CD_API cd_status cd_classifier_new(const cd_model *m, cd_classifier **out, cd_error *err);
CD_API void cd_classifier_free(cd_classifier *c);

/* Classify len bytes of text.  *scores gets an array of one entry per
 * label, sorted by decreasing p, owned by the classifier and valid until
 * the next call.  Single-label models choose the most probable label;
 * multi-label models choose each label whose p reaches its threshold
 * (possibly none), or, when the model was trained with at_least_one and
 * none does, the one that comes nearest (largest p - threshold). */
CD_API cd_status cd_classify(cd_classifier *c, const char *text, size_t len,
                      const cd_label_score **scores, size_t *n, cd_error *err);

/* Most callers read only a story's chosen labels or its few most probable
 * ones, and sorting every label of every story is a tenth of the time of
 * classify.  After cd_classifier_set_order(c, top) with top > 0, the
 * scores of cd_classify begin with the chosen labels and the top most
 * probable ones, sorted by decreasing p (so the first top entries are the
 * top most probable labels); the other labels follow in label order.
 * top = 0 (the default) sorts them all. */
CD_API void cd_classifier_set_order(cd_classifier *c, size_t top);

/* For a caller that reads the chosen labels alone: after
 * cd_classifier_only_chosen(c, 1), cd_classify gives only them (*n of
 * them, possibly 0), sorted by decreasing p (ties in label order), the
 * same labels with the same p as in the other orders.  It skips what the
 * other labels cost: a multi-label model computes p (an exp) only for the
 * labels whose score comes near their threshold, where most labels of a
 * story are far below theirs.  on = 0 gives every label again. */
CD_API void cd_classifier_only_chosen(cd_classifier *c, int on);

/* After cd_classify: the up-to-k tokens of the last text that weighed most
 * for label (largest positive contribution first).  Returns how many were
 * written to out. */
CD_API size_t cd_classifier_explain(cd_classifier *c, uint32_t label,
                                    cd_token_weight *out, size_t k);

#endif
