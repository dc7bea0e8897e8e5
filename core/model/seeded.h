/*
 * seeded.h - naive Bayes learned from unlabelled documents and keyword
 * seeds: EM with shrinkage along a class tree (McCallum and Nigam, "Text
 * classification by bootstrapping with keywords, EM and shrinkage", 1999).
 *
 * This layer sees documents as (term id, count) lists and classes as nodes
 * of a tree; it knows nothing of desks, keywords or text (core/desk/
 * desk_seeds.c turns a desk's taxonomy and stories into these).  The
 * algorithm is described in seeded.c.
 */
#ifndef CD_MODEL_SEEDED_H
#define CD_MODEL_SEEDED_H

#include <stddef.h>
#include <stdint.h>

#include "copydesk/error.h"
#include "copydesk/model.h"
#include "copydesk/seeded.h"

typedef struct cd_em cd_em;

/* nnodes tree nodes, node_parent[i] < i or -1 for a top node; nclasses
 * classes, class c being node class_node[c] (distinct nodes).  Nodes that
 * are no class only pool their classes' words for shrinkage. */
cd_status cdi_em_new(size_t nnodes, const int *node_parent, size_t nclasses,
                     const int *class_node, cd_em **out, cd_error *err);
void cdi_em_free(cd_em *em);

/* Add a document: n distinct terms with their counts, and the keyword
 * hits of each class (nclasses values; all 0 for a document no keyword
 * reached).  The bootstrap labels it with the class of most hits (ties
 * shared). */
cd_status cdi_em_add(cd_em *em, const uint32_t *terms, const uint32_t *counts, size_t n,
                     const double *hits, cd_error *err);

size_t cdi_em_docs(const cd_em *em);

/* Bootstrap, then EM until the log-likelihood changes by less than tol
 * (relative) or max_iter iterations.  progress (may be NULL) is called
 * after each iteration with "EM" and the fraction of max_iter done. */
cd_status cdi_em_run(cd_em *em, unsigned max_iter, double tol, cd_progress_fn progress,
                     void *ud, cd_error *err);

/* After cdi_em_run: documents the keywords labelled (the bootstrap), the
 * iterations made, whether they converged, and each iteration's record. */
size_t cdi_em_seeded_docs(const cd_em *em);
size_t cdi_em_reached(const cd_em *em, size_t c);   /* documents with a hit of c's keywords */
size_t cdi_em_won(const cd_em *em, size_t c);       /* the bootstrap labelled c (ties: each) */
const cd_seeded_step *cdi_em_steps(const cd_em *em, size_t *n);
int cdi_em_converged(const cd_em *em);

/* The most probable class of document d, and its posterior. */
size_t cdi_em_label(const cd_em *em, size_t d, double *p);
/* Documents whose most probable class is c. */
size_t cdi_em_assigned(const cd_em *em, size_t c);
/* Class c's shrinkage weights: own, its ancestors' nodes (nearest first),
 * all classes, uniform; *n gets how many. */
const double *cdi_em_lambda(const cd_em *em, size_t c, size_t *n);

#endif
