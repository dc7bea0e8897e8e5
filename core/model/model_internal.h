/*
 * model_internal.h - what the model loader, the writer, the trainer and
 * the classifier share about an open model.
 */
#ifndef CD_MODEL_INTERNAL_H
#define CD_MODEL_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "copydesk/model.h"
#include "model/nb.h"

/* A slot of the hot table (see cdi_model_lookup): the key is the length
 * byte and up to HOT_MAX_LEN bytes of name, zero-padded, in a and b. */
#define HOT_MAX_LEN 11
#define HOT_STOP UINT32_MAX   /* a stop word: no term */
typedef struct hot_slot {
    uint64_t a;
    uint32_t b;
    uint32_t id;              /* term id + 1, HOT_STOP, or 0 when empty */
} hot_slot;

struct cd_model {
    void *base;            /* the whole file: mapped, or a heap copy */
    size_t size;
    int mapped;            /* 1: munmap(base), 0: free(base) */
    nb_params params;      /* decoded from the settings section */
    cd_tok_opts tok;
    nb_view view;          /* arrays point into base (read-only) */
    const uint32_t *label_offs;
    const char *label_names;
    const char *term_names;
    const uint32_t *hash;
    uint32_t hash_mask;
    char **label_cstr;     /* NUL-terminated copies of the label names */
    nb_fpost *fposts;      /* view.fposts: the postings packed for scoring */
    nb_sterm *sterms;      /* view.sterms: the terms packed for scoring */
    float *dense;          /* view.dense: rows of the most common terms */
    hot_slot *hot;         /* the commonest short terms and the stop words */
    uint32_t hot_mask;
    int hot_stops;         /* the hot table answers stop words (-1) */
    const struct mf_doc *docs;  /* the training stories kept (model_format.h) */
    uint32_t ndocs;
    const uint32_t *doc_terms;  /* (term, frequency) pairs */
    const uint32_t *doc_labels;
    const char *doc_ids;
    uint32_t corrections, uncalibrated, at_least_one, cv_picked, cv_nscores;
    double cv_scores[10];
};

/* Term id of a token in a model, or -1 (also for a stop word when the
 * model's tokenizer drops them: m->hot_stops). */
int64_t cdi_model_lookup(const cd_model *m, const char *s, size_t len);

/* Calls fn on each token of src, in order, until fn returns non-zero. */
typedef void (*cd_token_source)(const void *src, cd_token_fn fn, void *ud);

/* cd_classify on tokens made already (for a caller that tokenized the
 * text once for several purposes, with the model's tokenizer settings:
 * see cdi_classifier_tok_opts). */
cd_status cdi_classify_from(cd_classifier *c, cd_token_source each, const void *src,
                            const cd_label_score **scores, size_t *n, cd_error *err);
/* After cd_classifier_only_chosen(c, 1), what the other labels cost is
 * spent only when asked for, for the last text classified:
 * cdi_classifier_p gives label's p, cdi_classifier_all every label's
 * scores as cd_classify gives them without only_chosen (owned by c, valid
 * until the next text; the chosen labels given for it stay valid too).
 * Both are bit for bit what cd_classify computes; with nothing classified
 * (or after a failure), p is 0 and there are no scores. */
double cdi_classifier_p(const cd_classifier *c, uint32_t label);
void cdi_classifier_all(cd_classifier *c, const cd_label_score **scores, size_t *n);
/* The settings the classifier tokenizes with (the model's). */
const cd_tok_opts *cdi_classifier_tok_opts(const cd_classifier *c);

/* Name of term t (not NUL-terminated). */
static inline const char *cdi_model_term(const cd_model *m, uint32_t t, size_t *len)
{
    *len = m->view.terms[t].name_len;
    return m->term_names + m->view.terms[t].name_off;
}

/* Everything the writer needs, wherever it comes from (the trainer). */
typedef struct mf_source {
    const nb_view *view;
    const cd_tok_opts *tok;
    const char *const *label_names;  /* nlabels NUL-terminated names */
    const char *term_pool;           /* term t is term_pool + view->terms[t].name_off */
    const uint64_t *term_hashes;     /* cdi_vocab_hash of each term */
    /* the training stories kept: doc i has the (term, tf) pairs
     * [doc_start[i], doc_start[i+1]) and the labels [label_start[i],
     * label_start[i+1]); its id is id_names[i] (id_lens[i] bytes, none
     * when 0) */
    size_t ndocs;
    const size_t *doc_start;
    const uint32_t *doc_terms, *doc_tf;
    const size_t *label_start;
    const uint32_t *doc_labels;
    const char *const *id_names;
    const uint32_t *id_lens;
    const uint8_t *doc_flags;        /* MF_DOC_CORRECTION */
    uint32_t uncalibrated, at_least_one, cv_picked, cv_nscores;
    const double *cv_scores;
} mf_source;

/* Write a model file to path (temporary name, then rename). */
cd_status cdi_model_write(const mf_source *src, const char *path, cd_error *err);

#endif
