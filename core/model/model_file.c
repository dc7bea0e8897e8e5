/*
 * model_file.c - writing, mapping and checking model files (model_format.h).
 *
 * A model is written whole into memory, checksummed, written to a
 * temporary file beside the destination and renamed into place, so that a
 * reader never sees half a model.  Opening maps the file read-only and
 * checks everything a scorer will rely on (sizes, offsets, label indices,
 * the hash table) before any of it is used: a truncated, corrupt or
 * foreign file is refused with a message, never read past its end.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#include "base/hugemem.h"
#include "model/model_format.h"
#include "model/model_internal.h"
#include "model/vocab.h"

static uint64_t align8(uint64_t x)
{
    return (x + 7) & ~(uint64_t)7;
}

static uint32_t hash_slots_for(uint32_t nterms)
{
    uint32_t slots = 16;
    while (slots < (uint64_t)nterms * 2 + 1)
        slots *= 2;
    return slots;
}

/* ---- writing ------------------------------------------------------------ */

static void fill_settings(mf_settings *s, const mf_source *src, uint32_t slots)
{
    const nb_params *P = src->view->params;
    memset(s, 0, sizeof *s);
    s->alpha = P->nb.alpha;
    s->alpha_rest = P->nb.alpha_rest;
    s->min_df = P->nb.min_df;
    s->refine = P->nb.refine;
    s->refined = (uint32_t)P->refined;
    s->tok_version = CD_TOK_VERSION;
    s->docs = P->docs;
    s->mass = P->mass;
    s->temperature = P->temperature;
    s->tok_min_len = src->tok->min_len;
    s->tok_max_len = src->tok->max_len;
    s->tok_stopwords = src->tok->stopwords;
    s->tok_bigrams = src->tok->bigrams;
    s->tok_stem = src->tok->stem;
    s->tok_fold_numbers = src->tok->fold_numbers;
    s->log_tf = P->nb.log_tf;
    s->idf = P->nb.idf;
    s->length_norm = P->nb.length_norm;
    s->weight_norm = P->nb.weight_norm;
    s->kind = P->nb.kind;
    s->mode = P->nb.mode;
    s->cv_folds = P->nb.cv_folds;
    s->multilabel = (uint32_t)P->multilabel;
    s->nlabels = src->view->nlabels;
    s->nterms = src->view->nterms;
    s->nposts = src->view->nposts;
    s->hash_slots = slots;
    s->at_least_one = src->at_least_one;
    s->ndocs = (uint32_t)src->ndocs;
    uint32_t corr = 0;
    for (size_t i = 0; i < src->ndocs; i++)
        corr += (src->doc_flags[i] & MF_DOC_CORRECTION) != 0;
    s->corrections = corr;
    s->uncalibrated = src->uncalibrated;
    s->cv_picked = src->cv_picked;
    s->cv_nscores = src->cv_nscores > MF_MAX_FOLD_SCORES ? MF_MAX_FOLD_SCORES : src->cv_nscores;
    for (uint32_t k = 0; k < s->cv_nscores; k++)
        s->cv_scores[k] = src->cv_scores[k];
}

/* The training stories into DOCS, DOC_TERMS, DOC_LABELS, DOC_IDS, with
 * the view's term ids turned into the file's (file_id). */
static void write_docs(char *buf, const mf_header *h, const mf_source *src, const uint32_t *file_id)
{
    mf_doc *docs = (mf_doc *)(buf + h->sections[MF_DOCS].offset);
    uint32_t *pairs = (uint32_t *)(buf + h->sections[MF_DOC_TERMS].offset);
    uint32_t *labels = (uint32_t *)(buf + h->sections[MF_DOC_LABELS].offset);
    char *ids = buf + h->sections[MF_DOC_IDS].offset;
    uint64_t at = 0;
    uint32_t lat = 0, iat = 0;
    for (size_t i = 0; i < src->ndocs; i++) {
        mf_doc *D = &docs[i];
        D->term_off = at;
        D->nterms = (uint32_t)(src->doc_start[i + 1] - src->doc_start[i]);
        for (size_t j = src->doc_start[i]; j < src->doc_start[i + 1]; j++) {
            pairs[2 * at] = file_id[src->doc_terms[j]];
            pairs[2 * at + 1] = src->doc_tf[j];
            at++;
        }
        D->label_off = lat;
        D->nlabels = (uint32_t)(src->label_start[i + 1] - src->label_start[i]);
        for (size_t j = src->label_start[i]; j < src->label_start[i + 1]; j++)
            labels[lat++] = src->doc_labels[j];
        D->id_off = iat;
        D->id_len = src->id_lens[i];
        if (D->id_len)
            memcpy(ids + iat, src->id_names[i], D->id_len);
        iat += D->id_len;
        D->flags = src->doc_flags[i] & MF_DOC_CORRECTION;
    }
}

/* The file's term t is the view's term order[t]. */
static void fill_hash(uint32_t *hash, uint32_t slots, const mf_source *src,
                      const uint32_t *order)
{
    for (uint32_t t = 0; t < src->view->nterms; t++) {
        uint32_t i = (uint32_t)src->term_hashes[order[t]] & (slots - 1);
        while (hash[i])
            i = (i + 1) & (slots - 1);
        hash[i] = t + 1;
    }
}

/* Terms are written most frequent first.  Classifying looks up every
 * token and reads its postings; news text is Zipfian, so with the common
 * terms (and their names and postings) packed together at the front of
 * each section, most lookups stay within a few hot cache lines and pages
 * instead of landing anywhere in megabytes of model. */
typedef struct term_df {
    double df;
    uint32_t t;
} term_df;

static int by_df_desc(const void *a, const void *b)
{
    const term_df *x = a, *y = b;
    if (x->df != y->df)
        return x->df < y->df ? 1 : -1;
    return (x->t > y->t) - (x->t < y->t);
}

/* The view's term ids, most frequent first (ties in id order). */
static uint32_t *frequency_order(const nb_view *v)
{
    size_t n = v->nterms ? v->nterms : 1;
    uint32_t *order = malloc(sizeof *order * n);
    term_df *by = malloc(sizeof *by * n);
    if (!order || !by) {
        free(order);
        free(by);
        return NULL;
    }
    for (uint32_t t = 0; t < v->nterms; t++)
        by[t] = (term_df){ v->terms[t].df, t };
    qsort(by, v->nterms, sizeof *by, by_df_desc);
    for (uint32_t t = 0; t < v->nterms; t++)
        order[t] = by[t].t;
    free(by);
    return order;
}

/* Terms, their names and postings in the given order, into the TERMS,
 * TERM_NAMES and POSTS sections. */
static void write_terms(char *buf, const mf_header *h, const mf_source *src,
                        const uint32_t *order)
{
    const nb_view *v = src->view;
    nb_term *terms = (nb_term *)(buf + h->sections[MF_TERMS].offset);
    char *names = buf + h->sections[MF_TERM_NAMES].offset;
    nb_post *posts = (nb_post *)(buf + h->sections[MF_POSTS].offset);
    uint32_t name_at = 0, post_at = 0;
    for (uint32_t t = 0; t < v->nterms; t++) {
        nb_term T = v->terms[order[t]];
        memcpy(names + name_at, src->term_pool + T.name_off, T.name_len);
        memcpy(posts + post_at, v->posts + T.post_off, sizeof *posts * T.post_n);
        T.name_off = name_at;
        T.post_off = post_at;
        name_at += T.name_len;
        post_at += T.post_n;
        terms[t] = T;
    }
}

static cd_status write_file(const char *path, const void *buf, size_t len, cd_error *err)
{
    size_t plen = strlen(path);
    char *tmp = malloc(plen + 16);
    if (!tmp)
        return cd_error_set(err, CD_ERR_NOMEM, "%s: out of memory", path);
    memcpy(tmp, path, plen);
    memcpy(tmp + plen, ".tmp.XXXXXX", 12);
    int fd = mkstemp(tmp);
    if (fd < 0) {
        cd_status st = cd_error_set(err, CD_ERR_IO, "%s: %s", path, strerror(errno));
        free(tmp);
        return st;
    }
    const char *p = buf;
    size_t left = len;
    while (left) {
        ssize_t n = write(fd, p, left);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        p += n;
        left -= (size_t)n;
    }
    /* mkstemp makes the file 0600; a model is meant to be shared */
    int bad = left != 0 || fchmod(fd, 0644) != 0 || fsync(fd) != 0;
    int saved = bad ? errno : 0;
    bad |= close(fd) != 0;
    if (!bad && rename(tmp, path) == 0) {
        free(tmp);
        return CD_OK;
    }
    if (!saved)
        saved = errno;
    unlink(tmp);
    free(tmp);
    return cd_error_set(err, CD_ERR_IO, "%s: %s", path, strerror(saved ? saved : EIO));
}

cd_status cdi_model_write(const mf_source *src, const char *path, cd_error *err)
{
    const nb_view *v = src->view;
    uint32_t slots = hash_slots_for(v->nterms);
    uint64_t term_names_len = 0;
    for (uint32_t t = 0; t < v->nterms; t++)
        term_names_len += v->terms[t].name_len;
    size_t label_names_len = 0;
    for (uint32_t c = 0; c < v->nlabels; c++)
        label_names_len += strlen(src->label_names[c]);
    uint64_t id_bytes = 0;
    for (size_t i = 0; i < src->ndocs; i++)
        id_bytes += src->id_lens[i];
    uint64_t npairs = src->ndocs ? src->doc_start[src->ndocs] : 0;
    uint64_t nlab = src->ndocs ? src->label_start[src->ndocs] : 0;
    if (src->ndocs > UINT32_MAX || id_bytes > UINT32_MAX || nlab > UINT32_MAX)
        return cd_error_set(err, CD_ERR_LIMIT, "%s: too many training stories to keep in a model", path);

    uint64_t sizes[MF_NSECTIONS] = {
        [MF_SETTINGS] = sizeof(mf_settings),
        [MF_LABELS] = (uint64_t)v->nlabels * sizeof(nb_label),
        [MF_LABEL_OFFS] = ((uint64_t)v->nlabels + 1) * sizeof(uint32_t),
        [MF_LABEL_NAMES] = label_names_len,
        [MF_TERMS] = (uint64_t)v->nterms * sizeof(nb_term),
        [MF_TERM_NAMES] = term_names_len,
        [MF_POSTS] = (uint64_t)v->nposts * sizeof(nb_post),
        [MF_HASH] = (uint64_t)slots * sizeof(uint32_t),
        [MF_DOCS] = (uint64_t)src->ndocs * sizeof(mf_doc),
        [MF_DOC_TERMS] = npairs * 2 * sizeof(uint32_t),
        [MF_DOC_LABELS] = nlab * sizeof(uint32_t),
        [MF_DOC_IDS] = id_bytes,
    };
    mf_header h;
    memset(&h, 0, sizeof h);
    memcpy(h.magic, MF_MAGIC, 8);
    h.version = MF_VERSION;
    h.byte_order = MF_BYTE_ORDER;
    h.nsections = MF_NSECTIONS;
    uint64_t off = align8(sizeof h);
    for (int s = 0; s < MF_NSECTIONS; s++) {
        h.sections[s].offset = off;
        h.sections[s].size = sizes[s];
        off = align8(off + sizes[s]);
    }
    h.file_size = off;

    char *buf = calloc(1, off);
    uint32_t *order = buf ? frequency_order(v) : NULL;
    if (!order) {
        free(buf);
        return cd_error_set(err, CD_ERR_NOMEM, "%s: out of memory for %llu bytes",
                            path, (unsigned long long)off);
    }
    mf_settings settings;
    fill_settings(&settings, src, slots);
    memcpy(buf + h.sections[MF_SETTINGS].offset, &settings, sizeof settings);
    if (v->nlabels)
        memcpy(buf + h.sections[MF_LABELS].offset, v->labels, sizes[MF_LABELS]);
    uint32_t *offs = (uint32_t *)(buf + h.sections[MF_LABEL_OFFS].offset);
    char *names = buf + h.sections[MF_LABEL_NAMES].offset;
    uint32_t at = 0;
    for (uint32_t c = 0; c < v->nlabels; c++) {
        size_t n = strlen(src->label_names[c]);
        offs[c] = at;
        memcpy(names + at, src->label_names[c], n);
        at += (uint32_t)n;
    }
    offs[v->nlabels] = at;
    write_terms(buf, &h, src, order);
    fill_hash((uint32_t *)(buf + h.sections[MF_HASH].offset), slots, src, order);
    if (src->ndocs) {
        uint32_t *file_id = malloc(sizeof *file_id * (v->nterms ? v->nterms : 1));
        if (!file_id) {
            free(order);
            free(buf);
            return cd_error_set(err, CD_ERR_NOMEM, "%s: out of memory", path);
        }
        for (uint32_t t = 0; t < v->nterms; t++)
            file_id[order[t]] = t;
        write_docs(buf, &h, src, file_id);
        free(file_id);
    }
    free(order);
    memcpy(buf, &h, sizeof h);
    h.checksum = XXH3_64bits(buf + MF_CHECKED_FROM, off - MF_CHECKED_FROM);
    memcpy(buf, &h, sizeof h);

    cd_status st = write_file(path, buf, off, err);
    free(buf);
    return st;
}

/* ---- opening and checking ---------------------------------------------- */

#define CORRUPT(what) cd_error_set(err, CD_ERR_CORRUPT, "%s: corrupt model file (%s)", name, what)

static cd_status check_header(const char *name, const unsigned char *b, size_t size,
                              mf_header *h, cd_error *err)
{
    if (size < 8 || memcmp(b, MF_MAGIC, 8) != 0)
        return cd_error_set(err, CD_ERR_FORMAT, "%s: not a copydesk model file", name);
    if (size < sizeof *h)
        return CORRUPT("truncated header");
    memcpy(h, b, sizeof *h);
    if (h->byte_order != MF_BYTE_ORDER)
        return cd_error_set(err, CD_ERR_FORMAT, "%s: model written on a machine of another byte order", name);
    if (h->version != MF_VERSION)
        return cd_error_set(err, CD_ERR_VERSION, "%s: model format version %u, this copydesk reads version %u",
                            name, h->version, MF_VERSION);
    if (h->file_size != size)
        return cd_error_set(err, CD_ERR_CORRUPT, "%s: corrupt model file (truncated or extended: %llu bytes, expected %llu)",
                            name, (unsigned long long)size, (unsigned long long)h->file_size);
    if (XXH3_64bits(b + MF_CHECKED_FROM, size - MF_CHECKED_FROM) != h->checksum)
        return CORRUPT("checksum mismatch");
    if (h->nsections != MF_NSECTIONS)
        return CORRUPT("section count");
    for (int s = 0; s < MF_NSECTIONS; s++) {
        uint64_t o = h->sections[s].offset, n = h->sections[s].size;
        if (o % 8 || o < sizeof *h || o > size || n > size - o)
            return CORRUPT("section outside the file");
    }
    return CD_OK;
}

/* Document counts are whole numbers a double holds exactly. */
static int count_ok(double n)
{
    return n >= 0 && n <= 9007199254740992.0;
}

static int finite_label(const nb_label *l)
{
    return count_ok(l->docs) && isfinite(l->mass) && isfinite(l->A) && isfinite(l->scale) &&
           isfinite(l->bias) && isfinite(l->platt_a) && isfinite(l->platt_b) && !isnan(l->threshold);
}

static cd_status check_settings(const char *name, const mf_settings *s, const mf_header *h, cd_error *err)
{
    const mf_section *sec = h->sections;
    if (sec[MF_SETTINGS].size != sizeof *s)
        return CORRUPT("settings size");
    if (s->nlabels == 0)
        return CORRUPT("no labels");
    if (s->kind > CD_NB_COMPLEMENT || s->mode > CD_LABELS_MULTI || s->multilabel > 1)
        return CORRUPT("classifier settings");
    if (s->tok_version != CD_TOK_VERSION)
        return cd_error_set(err, CD_ERR_VERSION,
                            "%s: model made with tokenizer version %u, this copydesk tokenizes with version %u: retrain it",
                            name, s->tok_version, CD_TOK_VERSION);
    if (s->refined > 1)
        return CORRUPT("classifier settings");
    if (!(s->alpha > 0) || !isfinite(s->alpha) || !(s->alpha_rest > 0) || !isfinite(s->alpha_rest) ||
        !count_ok(s->docs) || !isfinite(s->mass) ||
        !isfinite(s->temperature))
        return CORRUPT("classifier totals");
    if (s->tok_min_len == 0 || s->tok_min_len > s->tok_max_len || s->tok_max_len > CD_TOK_MAX_LEN)
        return CORRUPT("tokenizer settings");
    if (s->hash_slots < 2 || (s->hash_slots & (s->hash_slots - 1)) || s->hash_slots <= s->nterms)
        return CORRUPT("hash table size");
    if (sec[MF_LABELS].size != (uint64_t)s->nlabels * sizeof(nb_label) ||
        sec[MF_LABEL_OFFS].size != ((uint64_t)s->nlabels + 1) * 4 ||
        sec[MF_TERMS].size != (uint64_t)s->nterms * sizeof(nb_term) ||
        sec[MF_POSTS].size != (uint64_t)s->nposts * sizeof(nb_post) ||
        sec[MF_HASH].size != (uint64_t)s->hash_slots * 4 ||
        sec[MF_DOCS].size != (uint64_t)s->ndocs * sizeof(mf_doc) ||
        sec[MF_DOC_TERMS].size % 8 || sec[MF_DOC_LABELS].size % 4)
        return CORRUPT("section sizes");
    if (s->corrections > s->ndocs || s->at_least_one > 1 || s->cv_picked > 1 ||
        s->cv_nscores > MF_MAX_FOLD_SCORES)
        return CORRUPT("classifier settings");
    for (uint32_t k = 0; k < s->cv_nscores; k++)
        if (!isfinite(s->cv_scores[k]))
            return CORRUPT("classifier settings");
    return CD_OK;
}

static cd_status check_arrays(const char *name, const cd_model *m, const mf_header *h, cd_error *err)
{
    const nb_view *v = &m->view;
    uint64_t label_bytes = h->sections[MF_LABEL_NAMES].size;
    uint64_t term_bytes = h->sections[MF_TERM_NAMES].size;
    if (m->label_offs[0] != 0)
        return CORRUPT("label names");
    for (uint32_t c = 0; c < v->nlabels; c++) {
        if (m->label_offs[c + 1] <= m->label_offs[c] || m->label_offs[c + 1] > label_bytes)
            return CORRUPT("label names");
        /* label names are handed out as C strings: no NUL inside */
        if (memchr(m->label_names + m->label_offs[c], '\0',
                   m->label_offs[c + 1] - m->label_offs[c]))
            return CORRUPT("label names");
        if (!finite_label(&v->labels[c]))
            return CORRUPT("label weights");
    }
    for (uint32_t t = 0; t < v->nterms; t++) {
        const nb_term *T = &v->terms[t];
        if ((uint64_t)T->post_off + T->post_n > v->nposts ||
            (uint64_t)T->name_off + T->name_len > term_bytes || T->name_len == 0)
            return CORRUPT("term table");
        if (!isfinite(T->g) || !isfinite(T->idf))
            return CORRUPT("term weights");
    }
    for (uint32_t p = 0; p < v->nposts; p++)
        if (v->posts[p].label >= v->nlabels || !isfinite(v->posts[p].delta))
            return CORRUPT("postings");
    int empty = 0;
    for (uint32_t i = 0; i <= m->hash_mask; i++) {
        if (m->hash[i] > v->nterms)
            return CORRUPT("hash table");
        empty |= m->hash[i] == 0;
    }
    if (!empty)
        return CORRUPT("hash table full");
    uint64_t npairs = h->sections[MF_DOC_TERMS].size / 8;
    uint64_t nlab = h->sections[MF_DOC_LABELS].size / 4;
    uint64_t id_bytes = h->sections[MF_DOC_IDS].size;
    for (uint32_t i = 0; i < m->ndocs; i++) {
        const mf_doc *D = &m->docs[i];
        if (D->term_off > npairs || D->nterms > npairs - D->term_off ||
            D->label_off > nlab || D->nlabels > nlab - D->label_off || D->nlabels == 0 ||
            D->id_off > id_bytes || D->id_len > id_bytes - D->id_off || D->flags > MF_DOC_CORRECTION)
            return CORRUPT("training stories");
        for (uint32_t j = 0; j < D->nterms; j++) {
            const uint32_t *p = m->doc_terms + 2 * (D->term_off + j);
            if (p[0] >= v->nterms || p[1] == 0)
                return CORRUPT("training stories");
        }
        for (uint32_t j = 0; j < D->nlabels; j++)
            if (m->doc_labels[D->label_off + j] >= v->nlabels)
                return CORRUPT("training stories");
    }
    return CD_OK;
}

/* How many of the first (most frequent) terms get a dense row: the
 * prefix where walking the postings costs most against adding a whole row.
 * Measured with cachegrind: about 7 instructions per posting walked, 2 per
 * label of a row added with SSE2. */
static uint32_t dense_terms(const nb_view *v)
{
    int64_t gain = 0, best = 0;
    uint32_t n = 0;
    for (uint32_t t = 0; t < v->nterms; t++) {
        gain += 7 * (int64_t)v->terms[t].post_n - 2 * (int64_t)v->nlabels;
        if (gain > best) {
            best = gain;
            n = t + 1;
        }
    }
    return n;
}

/* The postings as scoring reads them: without the counts only training
 * needs (half the bytes per posting), and for the common terms, whose
 * postings cover most labels, as dense rows; the terms too, with only
 * what scoring reads (nb_sterm).  A few milliseconds at most
 * (a millisecond for the Reuters model). */
static cd_status pack_postings(cd_model *m, const char *name, cd_error *err)
{
    nb_view *v = &m->view;
    uint32_t nd = dense_terms(v);
    /* both read at random while scoring: base/hugemem.h */
    m->fposts = cdi_calloc_huge(v->nposts ? v->nposts : 1, sizeof *m->fposts);
    m->dense = cdi_calloc_huge((size_t)nd * v->nlabels + 1, sizeof *m->dense);
    m->sterms = cdi_calloc_huge(v->nterms ? v->nterms : 1, sizeof *m->sterms);
    if (!m->fposts || !m->dense || !m->sterms)
        return cd_error_set(err, CD_ERR_NOMEM, "%s: out of memory", name);
    for (uint32_t p = 0; p < v->nposts; p++) {
        m->fposts[p].label = v->posts[p].label;
        m->fposts[p].delta = v->posts[p].delta;
    }
    for (uint32_t t = 0; t < v->nterms; t++) {
        const nb_term *T = &v->terms[t];
        m->sterms[t] = (nb_sterm){ T->post_off, T->post_n, T->g, T->idf };
    }
    for (uint32_t t = 0; t < nd; t++) {
        const nb_term *T = &v->terms[t];
        for (uint32_t k = 0; k < T->post_n; k++) {
            const nb_post *p = &v->posts[T->post_off + k];
            m->dense[(size_t)t * v->nlabels + p->label] = p->delta;
        }
    }
    v->fposts = m->fposts;
    v->sterms = m->sterms;
    v->dense = m->dense;
    v->ndense = nd;
    return CD_OK;
}

/* ---- the hot table --------------------------------------------------------
 *
 * Looking a token up in the file's hash table is three dependent reads
 * (slot, term, name) into megabytes: with the postings, the largest cost
 * of classify.  Most tokens of a story are among a few thousand common
 * words, so those get a small table of their own, built at open, whose
 * slot holds the (short) name itself: one read.  The stop words go in too,
 * marked, when the model's tokenizer drops them (and does not stem, which
 * can make a stop word of another word): the classifier can then
 * leave them to the lookup instead of testing every token against the
 * stop-word list first (cd_classifier_new).  Stop words first, so that a
 * term of the same name (possible only in a crafted file) is never found,
 * as it never is when the tokenizer drops stop words. */

#define HOT_TERMS 4096

static void hot_key(const char *s, size_t len, uint64_t *a, uint32_t *b)
{
    unsigned char k[12] = { (unsigned char)len };
    for (size_t i = 0; i < len; i++)
        k[1 + i] = (unsigned char)s[i];
    memcpy(a, k, 8);
    memcpy(b, k + 8, 4);
}

static void hot_insert(cd_model *m, const char *s, size_t len, uint32_t id)
{
    uint64_t a;
    uint32_t b;
    hot_key(s, len, &a, &b);
    uint32_t i = (uint32_t)(cdi_vocab_hash(s, len) >> 32) & m->hot_mask;
    for (; m->hot[i].id; i = (i + 1) & m->hot_mask)
        if (m->hot[i].a == a && m->hot[i].b == b)
            return;   /* there already */
    m->hot[i] = (hot_slot){ a, b, id };
}

static void insert_stop(const char *word, size_t len, void *m)
{
    hot_insert(m, word, len, HOT_STOP);
}

static void insert_count(const char *word, size_t len, void *n)
{
    (void)word;
    (void)len;
    ++*(size_t *)n;
}

static cd_status build_hot(cd_model *m, const char *name, cd_error *err)
{
    /* stop words are never tokens of such a model, unless stemming makes
     * one ("others" -> "other"): then they are terms like any other */
    int stops = m->tok.stopwords && !m->tok.stem;
    size_t nstop = 0;
    if (stops)
        cd_stopwords_each(insert_count, &nstop);
    uint32_t slots = 64;
    while (slots < 2 * (HOT_TERMS + nstop))
        slots *= 2;
    m->hot = calloc(slots, sizeof *m->hot);
    if (!m->hot)
        return cd_error_set(err, CD_ERR_NOMEM, "%s: out of memory", name);
    m->hot_mask = slots - 1;
    if (stops) {
        cd_stopwords_each(insert_stop, m);
        m->hot_stops = 1;
    }
    uint32_t n = 0;
    for (uint32_t t = 0; t < m->view.nterms && n < HOT_TERMS; t++) {
        size_t len;
        const char *s = cdi_model_term(m, t, &len);
        if (len <= HOT_MAX_LEN) {
            hot_insert(m, s, len, t + 1);
            n++;
        }
    }
    return CD_OK;
}

static void decode_settings(cd_model *m, const mf_settings *s)
{
    nb_params *P = &m->params;
    memset(P, 0, sizeof *P);
    P->nb.kind = (cd_nb_kind)s->kind;
    P->nb.mode = (cd_label_mode)s->mode;
    P->nb.alpha = s->alpha;
    P->nb.alpha_rest = s->alpha_rest;
    P->nb.min_df = s->min_df;
    P->nb.refine = s->refine;
    P->refined = (int)s->refined;
    P->nb.log_tf = s->log_tf;
    P->nb.idf = s->idf;
    P->nb.length_norm = s->length_norm;
    P->nb.weight_norm = s->weight_norm;
    P->nb.cv_folds = s->cv_folds;
    P->nb.at_least_one = (uint8_t)s->at_least_one;
    P->multilabel = (int)s->multilabel;
    P->docs = s->docs;
    P->mass = s->mass;
    P->temperature = s->temperature;
    m->tok.min_len = s->tok_min_len;
    m->tok.max_len = s->tok_max_len;
    m->tok.stopwords = s->tok_stopwords;
    m->tok.bigrams = s->tok_bigrams;
    m->tok.stem = s->tok_stem;
    m->tok.fold_numbers = s->tok_fold_numbers;
}

static cd_status make_label_names(cd_model *m, const char *name, cd_error *err)
{
    uint32_t L = m->view.nlabels;
    m->label_cstr = calloc(L, sizeof *m->label_cstr);
    if (!m->label_cstr)
        return cd_error_set(err, CD_ERR_NOMEM, "%s: out of memory", name);
    for (uint32_t c = 0; c < L; c++) {
        size_t n = m->label_offs[c + 1] - m->label_offs[c];
        m->label_cstr[c] = malloc(n + 1);
        if (!m->label_cstr[c])
            return cd_error_set(err, CD_ERR_NOMEM, "%s: out of memory", name);
        memcpy(m->label_cstr[c], m->label_names + m->label_offs[c], n);
        m->label_cstr[c][n] = '\0';
    }
    return CD_OK;
}

/* Check and decode the file in m->base; name is for messages. */
static cd_status attach(cd_model *m, const char *name, cd_error *err)
{
    const unsigned char *b = m->base;
    mf_header h;
    cd_status st = check_header(name, b, m->size, &h, err);
    if (st)
        return st;
    mf_settings s;
    memcpy(&s, b + h.sections[MF_SETTINGS].offset,
           h.sections[MF_SETTINGS].size < sizeof s ? h.sections[MF_SETTINGS].size : sizeof s);
    if ((st = check_settings(name, &s, &h, err)))
        return st;
    decode_settings(m, &s);
    unsigned char *w = m->base;  /* writable type, read-only use */
    m->view.params = &m->params;
    m->view.nlabels = s.nlabels;
    m->view.nterms = s.nterms;
    m->view.nposts = s.nposts;
    m->view.labels = (nb_label *)(w + h.sections[MF_LABELS].offset);
    m->view.terms = (nb_term *)(w + h.sections[MF_TERMS].offset);
    m->view.posts = (nb_post *)(w + h.sections[MF_POSTS].offset);
    m->label_offs = (const uint32_t *)(b + h.sections[MF_LABEL_OFFS].offset);
    m->label_names = (const char *)(b + h.sections[MF_LABEL_NAMES].offset);
    m->term_names = (const char *)(b + h.sections[MF_TERM_NAMES].offset);
    m->hash = (const uint32_t *)(b + h.sections[MF_HASH].offset);
    m->hash_mask = s.hash_slots - 1;
    m->docs = (const mf_doc *)(b + h.sections[MF_DOCS].offset);
    m->ndocs = s.ndocs;
    m->doc_terms = (const uint32_t *)(b + h.sections[MF_DOC_TERMS].offset);
    m->doc_labels = (const uint32_t *)(b + h.sections[MF_DOC_LABELS].offset);
    m->doc_ids = (const char *)(b + h.sections[MF_DOC_IDS].offset);
    m->corrections = s.corrections;
    m->uncalibrated = s.uncalibrated;
    m->at_least_one = s.at_least_one;
    m->cv_picked = s.cv_picked;
    m->cv_nscores = s.cv_nscores;
    memcpy(m->cv_scores, s.cv_scores, sizeof m->cv_scores);
    if ((st = check_arrays(name, m, &h, err)) || (st = pack_postings(m, name, err)) ||
        (st = build_hot(m, name, err)))
        return st;
    return make_label_names(m, name, err);
}

cd_status cd_model_open(const char *path, cd_model **out, cd_error *err)
{
    *out = NULL;
    /* O_NONBLOCK: a FIFO given as a model is refused below, not waited on */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0)
        return cd_error_set(err, CD_ERR_IO, "%s: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return cd_error_set(err, CD_ERR_FORMAT, "%s: not a regular file", path);
    }
    if (st.st_size == 0) {
        close(fd);
        return cd_error_set(err, CD_ERR_FORMAT, "%s: not a copydesk model file (empty)", path);
    }
    /* A copy, not a mapping of the file: a model overwritten in place (cp
     * over it) while mapped was read as it changed, and a truncation
     * killed the process with SIGBUS.  The copy is read whole, and taken
     * only if the file did not change meanwhile (size and mtime); the
     * checksum below catches what a same-second rewrite would hide. */
    size_t size = (size_t)st.st_size;
    void *map = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (map == MAP_FAILED) {
        close(fd);
        return cd_error_set(err, CD_ERR_NOMEM, "%s: %s", path, strerror(errno));
    }
    cdi_advise_huge(map, size);   /* before the read writes its pages (base/hugemem.h) */
    size_t got = 0;
    while (got < size) {
        ssize_t n = read(fd, (char *)map + got, size - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    struct stat after;
    int changed = got != size || fstat(fd, &after) != 0 || after.st_size != st.st_size ||
                  after.st_mtim.tv_sec != st.st_mtim.tv_sec ||
                  after.st_mtim.tv_nsec != st.st_mtim.tv_nsec;
    close(fd);
    if (changed) {
        munmap(map, size);
        return cd_error_set(err, CD_ERR_IO, "%s: the file changed while it was read "
                            "(replace a model by renaming a new file over it)", path);
    }
    mprotect(map, size, PROT_READ);
    cd_model *m = calloc(1, sizeof *m);
    if (!m) {
        munmap(map, (size_t)st.st_size);
        return cd_error_set(err, CD_ERR_NOMEM, "%s: out of memory", path);
    }
    m->base = map;
    m->size = (size_t)st.st_size;
    m->mapped = 1;
    cd_status rc = attach(m, path, err);
    if (rc) {
        cd_model_close(m);
        return rc;
    }
    *out = m;
    return CD_OK;
}

cd_status cd_model_open_buffer(const void *data, size_t len, cd_model **out, cd_error *err)
{
    *out = NULL;
    cd_model *m = calloc(1, sizeof *m);
    void *copy = malloc(len ? len : 1);
    if (!m || !copy) {
        free(m);
        free(copy);
        return cd_error_set(err, CD_ERR_NOMEM, "model: out of memory");
    }
    if (len)
        memcpy(copy, data, len);
    m->base = copy;
    m->size = len;
    cd_status rc = attach(m, "model", err);
    if (rc) {
        cd_model_close(m);
        return rc;
    }
    *out = m;
    return CD_OK;
}

void cd_model_close(cd_model *m)
{
    if (!m)
        return;
    if (m->label_cstr)
        for (uint32_t c = 0; c < m->view.nlabels; c++)
            free(m->label_cstr[c]);
    free(m->label_cstr);
    free(m->fposts);
    free(m->sterms);
    free(m->dense);
    free(m->hot);
    if (m->mapped)
        munmap(m->base, m->size);
    else
        free(m->base);
    free(m);
}

/* ---- reading an open model --------------------------------------------- */

int64_t cdi_model_lookup(const cd_model *m, const char *s, size_t len)
{
    uint64_t h = cdi_vocab_hash(s, len);
    if (len <= HOT_MAX_LEN) {
        uint64_t a;
        uint32_t b;
        hot_key(s, len, &a, &b);
        for (uint32_t j = (uint32_t)(h >> 32) & m->hot_mask; m->hot[j].id; j = (j + 1) & m->hot_mask)
            if (m->hot[j].a == a && m->hot[j].b == b)
                return m->hot[j].id == HOT_STOP ? -1 : (int64_t)m->hot[j].id - 1;
    }
    uint32_t i = (uint32_t)h & m->hash_mask;
    for (;;) {
        uint32_t id = m->hash[i];
        if (!id)
            return -1;
        const nb_term *T = &m->view.terms[id - 1];
        if (T->name_len == len && !memcmp(m->term_names + T->name_off, s, len))
            return id - 1;
        i = (i + 1) & m->hash_mask;
    }
}

void cd_model_get_info(const cd_model *m, cd_model_info *info)
{
    memset(info, 0, sizeof *info);
    info->format_version = MF_VERSION;
    info->nb = m->params.nb;
    info->tok = m->tok;
    info->multilabel = m->params.multilabel;
    info->refined = m->params.refined;
    info->docs = (uint64_t)m->params.docs;
    info->labels = m->view.nlabels;
    info->terms = m->view.nterms;
    info->file_bytes = m->size;
    info->stories_kept = m->ndocs;
    info->corrections = m->corrections;
    info->uncalibrated = m->uncalibrated;
    info->at_least_one = (int)m->at_least_one;
    info->nb.at_least_one = (uint8_t)m->at_least_one;
    info->cv_picked = (int)m->cv_picked;
    info->cv_nscores = m->cv_nscores;
    memcpy(info->cv_scores, m->cv_scores, sizeof info->cv_scores);
}

const char *cd_model_label(const cd_model *m, uint32_t i)
{
    return i < m->view.nlabels ? m->label_cstr[i] : NULL;
}

int64_t cd_model_find_label(const cd_model *m, const char *name)
{
    for (uint32_t c = 0; c < m->view.nlabels; c++)
        if (!strcmp(m->label_cstr[c], name))
            return c;
    return -1;
}

uint64_t cd_model_label_docs(const cd_model *m, uint32_t i)
{
    return i < m->view.nlabels ? (uint64_t)m->view.labels[i].docs : 0;
}

double cd_model_label_threshold(const cd_model *m, uint32_t i)
{
    return i < m->view.nlabels ? m->view.labels[i].threshold : 0;
}
