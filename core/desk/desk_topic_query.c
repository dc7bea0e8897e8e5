/*
 * desk_topic_query.c - the topics of the last decided story, for copydesk
 * eval: which topics a desk has, how they nest, which labels they name,
 * and what each scored.
 */
#include "desk/desk_internal.h"

const char *cd_desk_topic_id(const cd_desk *d, size_t i) { return cdi_topics_id(d->topics, i); }
int cd_desk_topic_parent(const cd_desk *d, size_t i) { return cdi_topics_parent(d->topics, i); }
size_t cd_desk_topic_labels(const cd_desk *d, size_t i) { return cdi_topics_labels(d->topics, i); }

const char *cd_desk_topic_label(const cd_desk *d, size_t i, size_t j)
{
    return cdi_topics_label(d->topics, i, j);
}

double cd_desk_topic_score(const cd_desk *d, size_t i)
{
    return d->cur.scores ? d->cur.scores[i].score : 0;
}
