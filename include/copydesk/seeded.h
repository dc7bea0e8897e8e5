/*
 * copydesk/seeded.h - a desk's taxonomy learned from unlabelled stories
 * and its topics' keywords (copydesk train --seeds).
 *
 * A newsroom's taxonomy is its own: no labelled corpus exists for it.  The
 * topics' keywords label the stories they reach (a story goes to the topic
 * with most keyword hits), naive Bayes learns from those, then EM labels
 * every story again and again, each class's word estimates shrunk towards
 * those of the topics above it in the taxonomy (McCallum and Nigam, 1999;
 * core/model/seeded.c).  The result is an ordinary model file whose labels
 * are the topic ids, used in a desk like any other:
 *     model("seeded", "topics.cdm")  ...  labels = { "seeded:defense" }
 *
 * The classes are the topics that have keywords (at any depth); topics
 * without keywords only pool the words of the classes under them.  Each
 * story is labelled with its most probable class and that class's
 * ancestors that are classes too; the model is then trained on those labels
 * with the default settings (copydesk train's).
 */
#ifndef COPYDESK_SEEDED_H
#define COPYDESK_SEEDED_H

#include <stddef.h>
#include "error.h"
#include "export.h"
#include "model.h"

typedef struct cd_seeded cd_seeded;

typedef struct cd_seeded_opts {
    unsigned max_iter;   /* EM iterations at most (default 30) */
    double tol;          /* stop when the log-likelihood changes by less than
                            this fraction (default 1e-5) */
} cd_seeded_opts;

CD_API void cd_seeded_opts_default(cd_seeded_opts *opts);

/* Load the taxonomy of the desk at desk_path (its models are not opened:
 * they may be what is being trained). */
CD_API cd_status cd_seeded_open(const char *desk_path, cd_seeded **out, cd_error *err);
CD_API void cd_seeded_free(cd_seeded *s);

/* Add one unlabelled story's text (title, newline, body).  Every story's
 * term counts and text stay in memory until the model is saved (the text
 * is trained on once EM has labelled it): about twice the archive's size. */
CD_API cd_status cd_seeded_add(cd_seeded *s, const char *text, size_t len, cd_error *err);

/* Bootstrap from the keywords, then EM.  progress may be NULL. */
CD_API cd_status cd_seeded_learn(cd_seeded *s, const cd_seeded_opts *opts, cd_progress_fn progress,
                          void *ud, cd_error *err);

/* Train the model on the learned labels and write it (cd_trainer_save). */
CD_API cd_status cd_seeded_save(cd_seeded *s, const char *path, cd_progress_fn progress, void *ud,
                         cd_error *err);

/* ---- what happened, for the summary ------------------------------------- */

typedef struct cd_seeded_step {
    double loglik;       /* log-likelihood of every story under the model */
    size_t changed;      /* stories whose most probable topic changed */
} cd_seeded_step;

typedef struct cd_seeded_class {
    const char *id;         /* the topic id: the model's label */
    size_t keywords;        /* its keywords */
    size_t reached;         /* stories with at least one of its keywords */
    size_t won;             /* stories the bootstrap gave it (most hits) */
    size_t assigned;        /* stories EM gave it in the end */
    const double *lambda;   /* shrinkage weights: own, ancestors, all, uniform */
    size_t nlambda;
} cd_seeded_class;

CD_API size_t cd_seeded_docs(const cd_seeded *s);
CD_API size_t cd_seeded_seeded_docs(const cd_seeded *s);    /* the bootstrap labelled */
CD_API size_t cd_seeded_classes(const cd_seeded *s);
CD_API void cd_seeded_class_info(const cd_seeded *s, size_t i, cd_seeded_class *out);
/* Topics left out: no keywords of their own and no class under them. */
CD_API size_t cd_seeded_unlearned(const cd_seeded *s);
CD_API const char *cd_seeded_unlearned_id(const cd_seeded *s, size_t i);
CD_API const cd_seeded_step *cd_seeded_steps(const cd_seeded *s, size_t *n);
CD_API int cd_seeded_converged(const cd_seeded *s);

#endif
