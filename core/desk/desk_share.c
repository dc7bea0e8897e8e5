/*
 * desk_share.c - two desks deciding the same stories (copydesk diff): the
 * second reuses what the first computed for a story instead of computing
 * it again, as route already classifies every model that tokenizes like
 * the keywords from one token list (desk.c, finish).
 *
 * What can be reused: the token list, when both desks fold keywords with
 * the same tokenizer options; a model's results, when both desks open the
 * same model file (same size and checksum: the file, not its name, since
 * a desk under review may name the model by another path).  Topic scores
 * and rules are the desk's own and always run.
 */
#include <stdlib.h>
#include <string.h>

#include "desk/desk_internal.h"
#include "model/model_format.h"
#include "model/model_internal.h"

struct desk_share {
    cd_desk *from;
    int toks;          /* the keyword tokenizers match */
    int64_t *models;   /* per model of the desk: index in from, or -1 */
};

static int same_opts(const cd_tok_opts *a, const cd_tok_opts *b)
{
    return a->min_len == b->min_len && a->max_len == b->max_len &&
           a->stopwords == b->stopwords && a->bigrams == b->bigrams &&
           a->stem == b->stem && a->fold_numbers == b->fold_numbers;
}

static int same_model(const cd_model *a, const cd_model *b)
{
    if (a == b)
        return 1;
    if (a->size != b->size || a->size < sizeof(mf_header))
        return 0;
    const mf_header *ha = a->base, *hb = b->base;
    return ha->checksum == hb->checksum && ha->file_size == hb->file_size;
}

void cdi_desk_share_free(cd_desk *d)
{
    if (!d->share)
        return;
    free(d->share->models);
    free(d->share);
    d->share = NULL;
}

size_t cd_desk_share(cd_desk *d, cd_desk *from, int *tokens_shared)
{
    cdi_desk_share_free(d);
    if (tokens_shared)
        *tokens_shared = 0;
    struct desk_share *sh = calloc(1, sizeof *sh);
    int64_t *models = calloc(d->nmodels ? d->nmodels : 1, sizeof *models);
    if (!sh || !models || !from || from == d) {
        free(sh);
        free(models);
        return 0;
    }
    size_t n = 0;
    for (size_t i = 0; i < d->nmodels; i++) {
        models[i] = -1;
        for (size_t j = 0; j < from->nmodels && models[i] < 0; j++)
            if (same_model(d->models[i].model, from->models[j].model) &&
                d->models[i].nlabels == from->models[j].nlabels) {
                models[i] = (int64_t)j;
                n++;
            }
    }
    sh->from = from;
    sh->models = models;
    sh->toks = same_opts(cd_tokenizer_opts(d->tok), cd_tokenizer_opts(from->tok));
    d->share = sh;
    if (tokens_shared)
        *tokens_shared = sh->toks;
    return n;
}

cd_desk *cdi_desk_shared(const cd_desk *d, const cd_story *s, int *toks,
                         const int64_t **models)
{
    const struct desk_share *sh = d->share;
    if (!sh || sh->from->cur.story != s || !sh->from->cur.analysed)
        return NULL;
    *toks = sh->toks;
    *models = sh->models;
    return sh->from;
}
