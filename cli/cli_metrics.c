/*
 * cli_metrics.c - evaluation figures (see cli_metrics.h).
 */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_metrics.h"

int cli_metrics_init(cli_metrics *m)
{
    memset(m, 0, sizeof *m);
    m->single = 1;
    return 0;
}

void cli_metrics_free(cli_metrics *m)
{
    for (size_t i = 0; i < m->nlabels; i++)
        free(m->names[i]);
    free(m->names);
    free(m->tp);
    free(m->fp);
    free(m->fn);
    free(m->confusion);
    memset(m, 0, sizeof *m);
}

static int grow(cli_metrics *m)
{
    size_t cap = m->cap ? m->cap * 2 : 32;
    char **names = realloc(m->names, sizeof *names * cap);
    if (!names) return -1;
    m->names = names;
    double *arrays[3] = { m->tp, m->fp, m->fn };
    for (int i = 0; i < 3; i++) {
        double *a = realloc(arrays[i], sizeof *a * cap);
        if (!a) return -1;
        memset(a + m->cap, 0, sizeof *a * (cap - m->cap));
        arrays[i] = a;
        if (i == 0) m->tp = a; else if (i == 1) m->fp = a; else m->fn = a;
    }
    size_t *conf = calloc(cap * cap, sizeof *conf);
    if (!conf) return -1;
    for (size_t r = 0; r < m->cap; r++)
        memcpy(conf + r * cap, m->confusion + r * m->cap, sizeof *conf * m->cap);
    free(m->confusion);
    m->confusion = conf;
    m->cap = cap;
    return 0;
}

static long label_index(cli_metrics *m, const char *name)
{
    for (size_t i = 0; i < m->nlabels; i++)
        if (!strcmp(m->names[i], name))
            return (long)i;
    if (m->nlabels == m->cap && grow(m))
        return -1;
    if (!(m->names[m->nlabels] = strdup(name)))
        return -1;
    return (long)m->nlabels++;
}

static int in_list(const char *name, const char *const *list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!strcmp(list[i], name))
            return 1;
    return 0;
}

int cli_metrics_add(cli_metrics *m, char *const *gold, size_t ngold,
                    const char *const *pred, size_t npred)
{
    const char *const *g = (const char *const *)gold;
    size_t hits = 0;
    for (size_t i = 0; i < ngold; i++) {
        long l = label_index(m, g[i]);
        if (l < 0) return -1;
        if (in_list(g[i], pred, npred)) { m->tp[l] += 1; hits++; }
        else m->fn[l] += 1;
    }
    for (size_t i = 0; i < npred; i++) {
        long l = label_index(m, pred[i]);
        if (l < 0) return -1;
        if (!in_list(pred[i], g, ngold)) m->fp[l] += 1;
    }
    m->docs++;
    if (hits == ngold && npred == ngold)
        m->exact++;
    if (ngold == 1 && npred == 1)
        m->confusion[label_index(m, g[0]) * m->cap + label_index(m, pred[0])]++;
    else
        m->single = 0;
    return 0;
}

static double ratio(double a, double b) { return b > 0 ? a / b : 0; }
static double f1(double p, double r) { return p + r > 0 ? 2 * p * r / (p + r) : 0; }

void cli_metrics_summary(const cli_metrics *m, cli_summary *s)
{
    double tp = 0, fp = 0, fn = 0, mp = 0, mr = 0, mf = 0;
    size_t n = 0;
    for (size_t i = 0; i < m->nlabels; i++) {
        tp += m->tp[i]; fp += m->fp[i]; fn += m->fn[i];
        if (m->tp[i] + m->fn[i] == 0)
            continue;  /* no support: not part of the macro average */
        double p = ratio(m->tp[i], m->tp[i] + m->fp[i]), r = ratio(m->tp[i], m->tp[i] + m->fn[i]);
        mp += p; mr += r; mf += f1(p, r);
        n++;
    }
    s->accuracy = ratio((double)m->exact, (double)m->docs);
    s->micro_p = ratio(tp, tp + fp);
    s->micro_r = ratio(tp, tp + fn);
    s->micro_f1 = f1(s->micro_p, s->micro_r);
    s->macro_p = ratio(mp, (double)n);
    s->macro_r = ratio(mr, (double)n);
    s->macro_f1 = ratio(mf, (double)n);
}

void cli_metrics_print(const cli_metrics *m, FILE *out)
{
    cli_summary s;
    cli_metrics_summary(m, &s);
    fprintf(out, "stories   %zu\naccuracy  %.4f\n\n", m->docs, s.accuracy);
    fprintf(out, "%-24s %9s %9s %9s %8s\n", "", "precision", "recall", "f1", "support");
    fprintf(out, "%-24s %9.4f %9.4f %9.4f\n", "micro", s.micro_p, s.micro_r, s.micro_f1);
    fprintf(out, "%-24s %9.4f %9.4f %9.4f\n\n", "macro", s.macro_p, s.macro_r, s.macro_f1);
    for (size_t i = 0; i < m->nlabels; i++) {
        double p = ratio(m->tp[i], m->tp[i] + m->fp[i]), r = ratio(m->tp[i], m->tp[i] + m->fn[i]);
        fprintf(out, "%-24s %9.4f %9.4f %9.4f %8.0f\n", m->names[i], p, r, f1(p, r), m->tp[i] + m->fn[i]);
    }
    if (!m->single || m->nlabels > 20 || m->docs == 0)
        return;
    fprintf(out, "\nconfusion matrix (rows: true label, columns: predicted)\n%-16s", "");
    for (size_t j = 0; j < m->nlabels; j++)
        fprintf(out, " %8.8s", m->names[j]);
    fputc('\n', out);
    for (size_t i = 0; i < m->nlabels; i++) {
        fprintf(out, "%-16.16s", m->names[i]);
        for (size_t j = 0; j < m->nlabels; j++)
            fprintf(out, " %8zu", m->confusion[i * m->cap + j]);
        fputc('\n', out);
    }
}

void cli_metrics_print_json(const cli_metrics *m, FILE *out)
{
    cli_summary s;
    cli_metrics_summary(m, &s);
    fprintf(out, "{\"docs\":%zu,\"accuracy\":%.6f,\"micro_precision\":%.6f,\"micro_recall\":%.6f,"
                 "\"micro_f1\":%.6f,\"macro_precision\":%.6f,\"macro_recall\":%.6f,\"macro_f1\":%.6f,"
                 "\"labels\":{",
            m->docs, s.accuracy, s.micro_p, s.micro_r, s.micro_f1, s.macro_p, s.macro_r, s.macro_f1);
    for (size_t i = 0; i < m->nlabels; i++) {
        double p = ratio(m->tp[i], m->tp[i] + m->fp[i]), r = ratio(m->tp[i], m->tp[i] + m->fn[i]);
        if (i)
            fputc(',', out);
        cli_json_string(out, m->names[i], strlen(m->names[i]));
        fprintf(out, ":{\"precision\":%.6f,\"recall\":%.6f,\"f1\":%.6f,\"support\":%.0f}",
                p, r, f1(p, r), m->tp[i] + m->fn[i]);
    }
    fputc('}', out);
    if (m->single && m->docs) {
        fputs(",\"confusion\":{\"labels\":[", out);
        for (size_t i = 0; i < m->nlabels; i++) {
            if (i) fputc(',', out);
            cli_json_string(out, m->names[i], strlen(m->names[i]));
        }
        fputs("],\"matrix\":[", out);
        for (size_t i = 0; i < m->nlabels; i++) {
            fputs(i ? ",[" : "[", out);
            for (size_t j = 0; j < m->nlabels; j++)
                fprintf(out, j ? ",%zu" : "%zu", m->confusion[i * m->cap + j]);
            fputc(']', out);
        }
        fputs("]}", out);
    }
    fputs("}\n", out);
}
