/*
 * cli_metrics.h - accuracy, precision, recall and F1 for copydesk eval.
 *
 * Per label: tp, fp, fn over the stories.  Micro figures pool the counts
 * of all labels; macro figures average the per-label figures over the
 * labels that occur in the gold data (support > 0).  Accuracy is the share
 * of stories whose predicted label set equals the gold set exactly (for
 * single-label data: the share classified right).  The confusion matrix is
 * kept while every story has one gold and one predicted label.
 */
#ifndef CD_CLI_METRICS_H
#define CD_CLI_METRICS_H

#include <stddef.h>
#include <stdio.h>

typedef struct cli_metrics {
    size_t nlabels, cap;
    char **names;
    double *tp, *fp, *fn;
    size_t docs, exact;
    int single;            /* every story so far: one gold, one predicted */
    size_t *confusion;     /* cap x cap, row gold, column predicted */
} cli_metrics;

int cli_metrics_init(cli_metrics *m);
void cli_metrics_free(cli_metrics *m);

/* Add one story: its gold and predicted label names.  Returns -1 when out
 * of memory. */
int cli_metrics_add(cli_metrics *m, char *const *gold, size_t ngold,
                    const char *const *pred, size_t npred);

typedef struct cli_summary {
    double accuracy, micro_p, micro_r, micro_f1, macro_p, macro_r, macro_f1;
} cli_summary;

void cli_metrics_summary(const cli_metrics *m, cli_summary *s);
void cli_metrics_print(const cli_metrics *m, FILE *out);
/* One JSON object (see copydesk eval --help). */
void cli_metrics_print_json(const cli_metrics *m, FILE *out);

#endif
