/*
 * topics.h - the taxonomy of a desk and the scores of its topics.
 *
 * A taxonomy is a tree of topics.  Each topic lists model labels that are
 * evidence for it and keywords (words, phrases of consecutive words, and
 * prefix wildcards "missile*").  Keywords are folded through the same
 * tokenizer as the stories, so "Missiles" in a keyword and "missiles" in
 * a story meet as the same token.  This layer knows nothing of Lua or of
 * models: label probabilities come through a callback.
 *
 * The score of a topic, in [0,1] (see topics.c for the reasoning):
 *
 *     m     = the highest probability of the topic's labels (0 without labels),
 *             times the probability of its `given` label when it has one
 *             (inherited by child topics): P(trade) = P(trade | business) P(business)
 *             when the labels come from a model trained on business news only
 *     h     = keyword hits: occurrences of the topic's keywords in the story
 *     k     = 1 - 2^(-h / half)        half = hits that give 0.5 (default 2)
 *     own   = 1 - (1 - m) * (1 - k)    noisy-OR: either kind of evidence can
 *                                      carry the topic, both reinforce
 *     score = max(own, max score of the children)
 */
#ifndef CD_TOPICS_H
#define CD_TOPICS_H

#include <stddef.h>
#include <stdint.h>
#include "copydesk/error.h"
#include "copydesk/tokenizer.h"
#include "text/query.h"
#include "text/toklist.h"

#define CD_TOPIC_DEFAULT_HALF 2.0
#define CD_TOPIC_DEFAULT_THRESHOLD 0.5   /* score from which ninjs output names it */

/* ---- the taxonomy ------------------------------------------------------- */

typedef struct cd_topics cd_topics;

cd_status cdi_topics_new(cd_topics **out, cd_error *err);
void cdi_topics_free(cd_topics *t);

/* Add a topic under parent (-1 for a root).  Ids are unique. */
cd_status cdi_topics_add(cd_topics *t, int parent, const char *id, const char *name,
                         size_t *index, cd_error *err);
/* A label is "name" (any model) or "model:name". */
cd_status cdi_topics_add_label(cd_topics *t, size_t topic, const char *label, cd_error *err);
cd_status cdi_topics_add_keyword(cd_topics *t, size_t topic, const char *keyword,
                                 cd_error *err);
/* A keyword with conditions (near, scope, min: text/query.h); matched in
 * the same one pass over the story as the plain keywords. */
cd_status cdi_topics_add_keyword_spec(cd_topics *t, size_t topic, const cd_keyword_spec *k,
                                      cd_error *err);
/* A label whose probability multiplies the topic's label evidence. */
cd_status cdi_topics_set_given(cd_topics *t, size_t topic, const char *label, cd_error *err);
/* The topic's given label, its own or inherited (after compile), or NULL. */
const char *cdi_topics_given(const cd_topics *t, size_t i);

/* The topic's IPTC Media Topic, "medtop:" and eight digits
 * ("medtop:20000385"); anything else is refused with CD_ERR_ARG. */
cd_status cdi_topics_set_iptc(cd_topics *t, size_t topic, const char *qcode, cd_error *err);
/* Its qcode, or NULL when it has none. */
const char *cdi_topics_iptc(const cd_topics *t, size_t i);
/* 1 when s has the form of a Media Topic qcode: "medtop:" and 8 digits. */
int cdi_iptc_qcode_ok(const char *s);

/* The score from which the topic is one of the story's subjects in ninjs
 * output, in [0, 1] (default CD_TOPIC_DEFAULT_THRESHOLD). */
cd_status cdi_topics_set_threshold(cd_topics *t, size_t topic, double threshold, cd_error *err);
double cdi_topics_threshold(const cd_topics *t, size_t i);

/* Keyword hits that make k = 0.5 (> 0). */
cd_status cdi_topics_set_half(cd_topics *t, size_t topic, double half, cd_error *err);

/* Fold every keyword through tok (call once all topics are added). */
cd_status cdi_topics_compile(cd_topics *t, cd_tokenizer *tok, cd_error *err);

size_t cdi_topics_count(const cd_topics *t);
int64_t cdi_topics_find(const cd_topics *t, const char *id);
const char *cdi_topics_id(const cd_topics *t, size_t i);
const char *cdi_topics_name(const cd_topics *t, size_t i);
int cdi_topics_parent(const cd_topics *t, size_t i);
size_t cdi_topics_labels(const cd_topics *t, size_t i);
const char *cdi_topics_label(const cd_topics *t, size_t i, size_t j);
size_t cdi_topics_keywords(const cd_topics *t, size_t i);
const char *cdi_topics_keyword(const cd_topics *t, size_t i, size_t j);

/* Call fn on every word of every compiled keyword, near phrases too
 * (folded; prefix: the last word of a keyword ending in '*'), for a
 * caller that samples a story's tokens (text/sieve.h): the keywords match
 * in a sample that holds every token that can be one of these words as
 * they do in the whole story.  Stops, returning fn's status, when fn
 * returns other than CD_OK. */
typedef cd_status (*cd_topic_word_fn)(const char *w, size_t len, int prefix, void *ud);
cd_status cdi_topics_words(const cd_topics *t, cd_topic_word_fn fn, void *ud);

/* ---- scoring ------------------------------------------------------------ */

/* Probability of a label for the story being scored, or a negative value
 * when no model has the label. */
typedef double (*cd_label_p_fn)(const char *label, void *ud);

typedef struct cd_topic_score {
    double score;      /* the rolled-up score */
    double own;        /* the topic's own evidence, before the roll-up */
    double label_p;    /* m: best label probability */
    int best_label;    /* index of that label in the topic, or -1 */
    double hits;       /* h: keyword occurrences */
    double keyword;    /* k */
} cd_topic_score;

/* Score every topic; out has cdi_topics_count entries.  toks is the
 * story's token list, or a sample of it (see cdi_topics_words). */
void cdi_topics_score(const cd_topics *t, const cd_toklist *toks, cd_label_p_fn label_p,
                      void *ud, cd_topic_score *out);

/* Occurrences of keyword j of topic i that count (for explanations). */
size_t cdi_topics_keyword_hits(const cd_topics *t, size_t i, size_t j, const cd_toklist *toks);

#endif
