/*
 * test_desk_sample.c - a desk whose models read the story through the
 * lexicon that tells stop words (the shipped desk's) counts the taxonomy's
 * keywords in a sample of the story's tokens, those that can be a
 * keyword's word, and makes the whole token list only when asked for (a
 * rule's story:has, count, near; a desk sharing its tokens).  Keyword hits,
 * scopes, proximity, minimums and topic scores are exactly those of the
 * whole list: on real stories, checked against the whole list; on edge
 * cases, pinned to what the desk gave before it sampled.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "copydesk.h"
#include "desk/desk_internal.h"
#include "support.h"
#include "text/query.h"
#include "text/toklist.h"

/* Placed in scripts/: the models are ../models/ from there. */
#define DESK_PATH "scripts/sample-test.lua"

static const char taxonomy[] =
    "model(\"sections\", \"../models/bbc.cdm\")\n"
    "model(\"topics\", \"../models/reuters.cdm\")\n"
    "taxonomy {\n"
    "  { id = \"defense\", name = \"Defense\", keywords = { \"armed forces\", \"soldier*\",\n"
    "      \"army\", { \"armed forces\", scope = \"title\" }, { \"armed forces\", scope = \"lede\" },\n"
    "      { \"armed forces\", scope = \"body\" }, { \"armed forces\", min = 5 },\n"
    "      { \"army\", near = \"soldier*\", within = 1 },\n"
    "      { \"forces\", near = \"second\", within = \"sentence\" },\n"
    "      { \"internationalisation*\", scope = \"body\" }, \"peacekeeping operations\" } },\n"
    "  { id = \"rest\", name = \"Rest\", keywords = { { \"soldier*\", min = 3 },\n"
    "      \"second paragraph\", \"st*\" } },\n"
    "  { id = \"world\", name = \"World\", labels = { \"topics:trade\" },\n"
    "    { id = \"trade\", name = \"Trade\", labels = { \"topics:trade\" }, keywords = {\n"
    "        \"tariff*\", \"trade deficit\", { \"tariff*\", scope = \"lede\" },\n"
    "        { \"tariff*\", min = 3 }, \"1987\", \"mln dlrs\", \"dlrs*\", \"u.s\", \"bank england\",\n"
    "        { \"pct\", near = \"year\", within = 0 }, { \"pct\", near = \"profit\", within = \"sentence\" },\n"
    "        { \"said\", min = 3 }, { \"said\", near = \"shares\", within = \"sentence\", scope = \"body\" },\n"
    "        { \"international*\", scope = \"title\" }, { \"unemployment\", scope = \"body\" },\n"
    "        \"telecommunications*\", \"exchange rate*\", \"qu*\" } },\n"
    "  },\n"
    "  { id = \"made\", name = \"Made up\", keywords = { \"zorbl\", \"qxzv*\",\n"
    "      \"zorblaxificationz\", { \"zorbl\", near = \"qxzv*\", within = \"sentence\" } } },\n"
    "}\n"
    "destination \"a\" { folder = \"out/a\" }\n"
    "fallback \"a\"\n";

static cd_desk *load(const char *rules)
{
    size_t n = strlen(taxonomy) + strlen(rules) + 1;
    char *text = malloc(n);
    assert_non_null(text);
    snprintf(text, n, "%s%s", taxonomy, rules);
    cd_desk *d = NULL;
    cd_error err;
    cd_status st = cd_desk_load_text(text, strlen(text), DESK_PATH, NULL, NULL, &d, &err);
    if (st != CD_OK)
        fail_msg("%s", err.msg);
    free(text);
    assert_true(d->sampling);
    return d;
}

/* ---- the sample holds every token a keyword can use, and counts as the
 * whole list does ---------------------------------------------------------- */

typedef struct word_set {
    char w[64][48];
    size_t len[64];
    int prefix[64];
    size_t n;
} word_set;

static cd_status add_word(const char *w, size_t len, int prefix, void *ud)
{
    word_set *s = ud;
    assert_true(s->n < 64 && len < 48);
    memcpy(s->w[s->n], w, len);
    s->len[s->n] = len;
    s->prefix[s->n++] = prefix;
    return CD_OK;
}

static int is_keyword_word(const word_set *s, const char *tok, size_t len)
{
    for (size_t i = 0; i < s->n; i++)
        if ((s->prefix[i] ? len >= s->len[i] : len == s->len[i]) &&
            !memcmp(tok, s->w[i], s->len[i]))
            return 1;
    return 0;
}

/* The rows d counted as it read its story (while sampling, or while
 * making the list): those of the whole list's tokens (stop words left
 * out), each once in the order of its first token, with their counts. */
static void check_rows(const cd_desk *d, const cd_toklist *full)
{
    const cdi_lexicon *x = d->lex;
    uint32_t *tf = calloc(x->nrows, sizeof *tf);
    assert_non_null(tf);
    size_t nrows = 0;
    for (size_t i = 0; i < full->n; i++) {
        int64_t r = cdi_lexicon_find(x, full->text + full->off[i], full->len[i]);
        assert_false(r >= 0 && cdi_lexicon_is_stop(x, r));
        if (r >= 0 && tf[r]++ == 0) {
            assert_true(nrows < d->nrows_fill);
            assert_int_equal(d->rows[nrows], r);
            nrows++;
        }
    }
    assert_int_equal(nrows, d->nrows_fill);
    for (size_t k = 0; k < nrows; k++)
        assert_int_equal(d->row_counts[k], tf[d->rows[k]]);
    free(tf);
}

/* After d routed a story: its sample is the whole list's tokens that can
 * be a keyword's word, at their places, and the topics score on the whole
 * list exactly as they did on the sample.  Returns the sample's size. */
static size_t check_story(cd_desk *d, const word_set *words)
{
    const cd_toklist *sample = d->cur.kw_toks;
    assert_ptr_equal(sample, d->cur.sample);
    assert_null(d->cur.toks);   /* not made: no rule asked */
    const cd_toklist *full;
    assert_int_equal(cdi_desk_tokens(d, &full), CD_OK);
    assert_non_null(full);
    assert_null(full->pos);
    assert_non_null(sample->pos);
    size_t k = 0;
    for (size_t i = 0; i < full->n; i++) {
        const char *t = full->text + full->off[i];
        if (k < sample->n && sample->pos[k] == i) {
            assert_int_equal(sample->len[k], full->len[i]);
            assert_memory_equal(sample->text + sample->off[k], t, full->len[i]);
            assert_int_equal(sample->src[k], full->src[i]);
            assert_int_equal(sample->sent[k], full->sent[i]);
            assert_true(is_keyword_word(words, t, full->len[i]));
            k++;
        } else {
            assert_false(is_keyword_word(words, t, full->len[i]));
        }
    }
    assert_int_equal(k, sample->n);
    check_rows(d, full);
    assert_int_equal(sample->title_end, full->title_end);
    assert_int_equal(cdi_toklist_lede_end(sample), cdi_toklist_lede_end(full));
    size_t nt = cdi_topics_count(d->topics);
    cd_topic_score *again = calloc(nt, sizeof *again);
    assert_non_null(again);
    cdi_topics_score(d->topics, full, cdi_desk_label_p, d, again);
    for (size_t i = 0; i < nt; i++) {
        assert_true(again[i].hits == d->cur.scores[i].hits);
        assert_true(again[i].score == d->cur.scores[i].score);
        assert_true(again[i].own == d->cur.scores[i].own);
        assert_true(again[i].keyword == d->cur.scores[i].keyword);
        for (size_t j = 0; j < cdi_topics_keywords(d->topics, i); j++)
            assert_int_equal(cdi_topics_keyword_hits(d->topics, i, j, sample),
                             cdi_topics_keyword_hits(d->topics, i, j, full));
    }
    free(again);
    return sample->n;
}

static void sample_counts_as_the_whole_list(void **state)
{
    (void)state;
    cd_desk *d = load("");
    word_set words = { .n = 0 };
    assert_int_equal(cdi_topics_words(d->topics, add_word, &words), CD_OK);
    static const char *const inputs[] = {
        "../shared/corpora/reuters21578/modapte-test.jsonl",
        "../shared/corpora/bbc/bbc-test.jsonl",
        "tests/samples",
    };
    size_t stories = 0, sampled = 0, tokens = 0, hits = 0;
    for (size_t in = 0; in < sizeof inputs / sizeof *inputs; in++) {
        FILE *f = fopen(inputs[in], "r");
        if (!f && in < 2) {
            printf("# skipped %s: no corpus there (../shared/corpora)\n", inputs[in]);
            continue;
        }
        if (f)
            fclose(f);
        cd_reader *r;
        cd_error err;
        assert_int_equal(cd_reader_open(&inputs[in], 1, NULL, &r, &err), CD_OK);
        cd_story s;
        /* the first 600 stories of each corpus: a few seconds under ASan */
        for (size_t n = 0; n < 600 && cd_reader_next(r, &s, &err) == CD_READ_STORY; n++) {
            cd_decision dec;
            assert_int_equal(cd_desk_route(d, &s, 1, &dec, &err), CD_OK);
            sampled += check_story(d, &words);
            tokens += d->cur.toks->n;
            for (size_t i = 0; i < cdi_topics_count(d->topics); i++)
                hits += (size_t)d->cur.scores[i].hits;
            stories++;
            cd_story_clear(&s);
        }
        cd_reader_free(r);
    }
    assert_true(stories >= 12);
    assert_true(hits > stories);         /* the keywords do match */
    assert_true(sampled * 4 < tokens);   /* and the sample is a small part */
    printf("# %zu stories: %zu tokens, %zu sampled, %zu keyword hits\n", stories, tokens,
           sampled, hits);
    cd_desk_free(d);
}

/* Words of no model sampled as the others: a keyword's word (zorbl), a
 * token under a prefix (qxzv*), long ones, in title, lede and body, next
 * to stop words and to words of both models, beyond the batch of tokens
 * probed at once. */
static void sample_of_words_of_no_model(void **state)
{
    (void)state;
    cd_desk *d = load("");
    word_set words = { .n = 0 };
    assert_int_equal(cdi_topics_words(d->topics, add_word, &words), CD_OK);
    char body[4096];
    size_t n = (size_t)snprintf(body, sizeof body,
        "Zorbl qxzv the soldiers said zorblaxificationz, and the qxzvqxzvqxzvqxzv of it.\n\n");
    for (int i = 0; i < 30; i++)
        n += (size_t)snprintf(body + n, sizeof body - n,
            "%s the zorbl of a qxzvab is not %d pct. ", i % 3 ? "Said" : "Armed forces", i);
    cd_story s;
    make_story(&s, "made", "Zorbl and the QXZV tariffs", body, NULL);
    cd_decision dec;
    cd_error err;
    assert_int_equal(cd_desk_route(d, &s, 1, &dec, &err), CD_OK);
    size_t sampled = check_story(d, &words);
    assert_true(sampled > 60);
    size_t made = cdi_topics_count(d->topics) - 1;
    assert_int_equal(cdi_topics_keyword_hits(d->topics, made, 0, d->cur.kw_toks), 32);
    assert_int_equal(cdi_topics_keyword_hits(d->topics, made, 1, d->cur.kw_toks), 33);
    assert_int_equal(cdi_topics_keyword_hits(d->topics, made, 2, d->cur.kw_toks), 1);
    cd_story_clear(&s);
    cd_desk_free(d);
}

/* ---- edge cases, pinned ------------------------------------------------- */

/* The keyword hits and scores the desk gave for these stories before it
 * sampled (copydesk route -n --explain), and what the rule's story:has,
 * count and near said: the rule raises on any other answer. */
static const char rules[] =
    "rule(\"r\", function(story)\n"
    "  local want = { span = { true, 3, 0, 3, true }, rep = { true, 0, 1, 5, false },\n"
    "                 none = { false, 0, 0, 0, false } }\n"
    "  local w = want[story.id]\n"
    "  local got = { story:has(\"armed forces\"), story:count(\"soldier*\"),\n"
    "    story:count(\"armed forces\", \"title\"), story:count(\"armed forces\", \"body\"),\n"
    "    (story:near(\"army\", \"soldier*\", 2)) }\n"
    "  for i = 1, 5 do\n"
    "    if got[i] ~= w[i] then error(story.id .. \": answer \" .. i .. \" is \" .. tostring(got[i])) end\n"
    "  end\n"
    "  story:log(\"answered\")\n"
    "end)\n";

typedef struct pinned {
    const char *id, *title, *body;
    size_t defense[11], rest[3];
    double defense_score, rest_score;
} pinned;

static const pinned edge[] = {
    { "span", "Army chiefs: the armed",
      "Forces of the army, soldiers and a soldier, SOLDIERING on. The armed forces again, "
      "and a Peacekeeping operations unit.\n\nSecond paragraph: armed forces, "
      "internationalisationally long word, armed forces stand.",
      /* a phrase spans title and body ("armed" \n "Forces"), but not in a scope */
      { 4, 3, 2, 0, 1, 3, 0, 1, 2, 1, 1 }, { 3, 1, 1 }, 0.998047, 0.823223 },
    { "rep", "Armed forces",
      "armed forces armed forces armed forces armed forces armed forces.\n"
      "Street standing still.",
      { 6, 0, 0, 1, 5, 5, 6, 0, 0, 0, 0 }, { 0, 0, 3 }, 0.999655, 0.646447 },
    { "none", "", "", { 0 }, { 0 }, 0, 0 },
};

static void edge_cases_as_before(void **state)
{
    (void)state;
    cd_desk *d = load(rules);
    for (size_t k = 0; k < sizeof edge / sizeof *edge; k++) {
        const pinned *e = &edge[k];
        cd_story s;
        make_story(&s, e->id, e->title, e->body, NULL);
        cd_decision dec;
        cd_error err;
        assert_int_equal(cd_desk_route(d, &s, 1, &dec, &err), CD_OK);
        if (dec.error)
            fail_msg("%s", dec.error);
        assert_int_equal(dec.outcome, CD_OUTCOME_FALLBACK);
        /* the rule asked: the whole list was made */
        assert_non_null(d->cur.toks);
        assert_ptr_not_equal(d->cur.toks, d->cur.kw_toks);
        assert_int_equal(d->cur.log.n, 1);
        assert_int_equal(cdi_topics_keywords(d->topics, 0), 11);
        for (size_t j = 0; j < 11; j++)
            assert_int_equal(cdi_topics_keyword_hits(d->topics, 0, j, d->cur.kw_toks),
                             e->defense[j]);
        for (size_t j = 0; j < 3; j++)
            assert_int_equal(cdi_topics_keyword_hits(d->topics, 1, j, d->cur.kw_toks),
                             e->rest[j]);
        assert_true(fabs(d->cur.scores[0].score - e->defense_score) < 1e-6);
        assert_true(fabs(d->cur.scores[1].score - e->rest_score) < 1e-6);
        cd_story_clear(&s);
    }
    cd_desk_free(d);
}

/* ---- queries in a sample ---------------------------------------------- */

/* A sample of l: the tokens that are one of words (exact). */
static cd_toklist *sample_of(const cd_toklist *l, const char *const *words)
{
    cd_toklist *s = cdi_toklist_new();
    assert_non_null(s);
    cdi_toklist_clear_sample(s);
    for (size_t i = 0; i < l->n; i++)
        for (size_t w = 0; words[w]; w++)
            if (strlen(words[w]) == l->len[i] &&
                !memcmp(words[w], l->text + l->off[i], l->len[i])) {
                assert_int_equal(cdi_toklist_push_at(s, l->text + l->off[i], l->len[i],
                                                     (uint32_t)i, l->src[i], l->sent[i]), 0);
                break;
            }
    cdi_toklist_set_zones(s, l->title_end, l->lede_end);
    return s;
}

static void queries_count_in_a_sample_as_in_the_list(void **state)
{
    (void)state;
    cd_tokenizer *tok;
    cd_error err;
    assert_int_equal(cd_tokenizer_new(NULL, &tok, &err), CD_OK);
    static const char text[] =
        "Oil pct year\n"
        "The pct of the year rose; pct big year. Oil price rose and oil fell. "
        "Oil oil price. Year pct profit! Profit in the pct year.\n\n"
        "Oil, then a long way off: one two three four five six price.";
    cd_toklist *l;
    assert_int_equal(cdi_toklist_build(tok, text, sizeof text - 1, &l, &err), CD_OK);
    cdi_toklist_set_zones(l, 13, 137);
    static const char *const words[] = { "pct", "year", "oil", "price", "profit", NULL };
    cd_toklist *s = sample_of(l, words);
    assert_true(s->n < l->n);
    static const cd_keyword_spec specs[] = {
        { "pct", "year", 0, CD_SCOPE_ALL, 1 },
        { "pct", "year", 1, CD_SCOPE_ALL, 1 },
        { "pct year", NULL, 0, CD_SCOPE_ALL, 1 },       /* "big" between: a gap */
        { "oil", "price", 0, CD_SCOPE_BODY, 1 },
        { "oil", "price", 6, CD_SCOPE_ALL, 1 },
        { "oil", "price", -1, CD_SCOPE_ALL, 1 },         /* in one sentence */
        { "oil", "price", -1, CD_SCOPE_LEDE, 1 },
        { "year", "profit", -1, CD_SCOPE_ALL, 1 },
        { "profit", "pct year", 2, CD_SCOPE_ALL, 1 },
        { "oil", NULL, 0, CD_SCOPE_TITLE, 1 },
        { "oil", NULL, 0, CD_SCOPE_ALL, 3 },
        { "oil", NULL, 0, CD_SCOPE_ALL, 9 },
        { "oil oil", NULL, 0, CD_SCOPE_ALL, 1 },
        { "pr*", NULL, 0, CD_SCOPE_ALL, 1 },
    };
    /* the whole list's answers, counted by hand: the tokens are
     * 0 oil 1 pct 2 year | 3 pct 4 year 5 rose 6 pct 7 big 8 year | 9 oil 10 price
     * 11 rose 12 oil 13 fell | 14 oil 15 oil 16 price | 17 year 18 pct 19 profit |
     * 20 profit 21 pct 22 year || 23 oil 24 long .. 31 six 32 price (| a sentence
     * ends; the title is 0-2, the lede 3-22); "big" is not in the sample */
    static const size_t want[] = { 4, 5, 3, 2, 5, 5, 4, 2, 2, 1, 6, 0, 1, 5 };
    for (size_t k = 0; k < sizeof specs / sizeof *specs; k++) {
        cd_query *q;
        assert_int_equal(cdi_query_compile(tok, &specs[k], &q, &err), CD_OK);
        size_t whole = cdi_query_count(q, l, NULL), in_sample = cdi_query_count(q, s, NULL);
        if (whole != want[k] || in_sample != whole)
            fail_msg("query %zu: %zu in the list (want %zu), %zu in the sample", k, whole,
                     want[k], in_sample);
        cdi_query_free(q);
    }
    cdi_toklist_free(s);
    cdi_toklist_free(l);
    cd_tokenizer_free(tok);
}

/* ---- the lede, found when a scope asks ---------------------------------- */

static void lede_found_when_asked(void **state)
{
    (void)state;
    static const struct {
        const char *body;
        size_t lede;   /* its length in body, as the desk gave it before */
    } cases[] = {
        { "First para.\n\nSecond.", 11 },
        { "\n \r\n\tFirst\nline two\n \t\r\nthird", 19 },   /* leading blanks skipped */
        { "one\ntwo\nthree", 3 },                           /* no blank line: first break */
        { "one line only", 13 },
        { "", 0 },
        { "\n\n", 2 },
        { "a\r\n\r\nb", 2 },
    };
    cd_toklist *l = cdi_toklist_new();
    assert_non_null(l);
    for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
        cdi_toklist_clear_sample(l);
        cdi_toklist_set_body(l, 7, cases[k].body, strlen(cases[k].body));
        assert_int_equal(l->title_end, 7);
        assert_non_null(l->lede_body);   /* not yet read */
        assert_int_equal(cdi_toklist_lede_end(l), 7 + cases[k].lede);
        assert_null(l->lede_body);
        assert_int_equal(cdi_toklist_lede_end(l), 7 + cases[k].lede);
    }
    cdi_toklist_set_zones(l, 3, 5);
    assert_int_equal(cdi_toklist_lede_end(l), 5);
    cdi_toklist_free(l);
    /* a desk whose keywords have no lede scope never reads it */
    static const char text[] =
        "model(\"sections\", \"../models/bbc.cdm\")\n"
        "model(\"topics\", \"../models/reuters.cdm\")\n"
        "taxonomy { { id = \"t\", name = \"T\", keywords = { \"tariff*\", { \"pct\", scope = \"body\" } } } }\n"
        "destination \"a\" { folder = \"out/a\" }\n"
        "fallback \"a\"\n";
    cd_desk *d = NULL;
    cd_error err;
    if (cd_desk_load_text(text, strlen(text), DESK_PATH, NULL, NULL, &d, &err) != CD_OK)
        fail_msg("%s", err.msg);
    cd_story s;
    make_story(&s, "x", "Tariffs", "Tariffs rose 5 pct.\nThen more.\n\nAnd pct.", NULL);
    cd_decision dec;
    assert_int_equal(cd_desk_route(d, &s, 1, &dec, &err), CD_OK);
    assert_true(d->cur.scores[0].hits >= 3);
    assert_non_null(d->cur.kw_toks->lede_body);
    assert_int_equal(cdi_toklist_lede_end(d->cur.kw_toks), 8 + 30);
    cd_story_clear(&s);
    cd_desk_free(d);
}

/* ---- a desk that cannot sample ------------------------------------------ */

/* Two models of one-letter tokens (min_len 1), labels a and b. */
static void train_one_letter(const char *path, const char *la, const char *lb)
{
    static const char *const texts[] = {
        "A trade deficit: tariffs on imports, a quota and a W-shaped recovery",
        "The striker scored; the cup final went to a penalty shoot-out at 3 a.m.",
    };
    cd_tok_opts tok;
    cd_nb_opts nb;
    cd_tok_opts_default(&tok);
    tok.min_len = 1;
    cd_nb_opts_default(&nb);
    nb.min_df = 1;
    cd_trainer *t;
    cd_error err;
    assert_int_equal(cd_trainer_new(&tok, &nb, &t, &err), CD_OK);
    for (int round = 0; round < 3; round++) {
        assert_int_equal(cd_trainer_add(t, texts[0], strlen(texts[0]), &la, 1, &err), CD_OK);
        assert_int_equal(cd_trainer_add(t, texts[1], strlen(texts[1]), &lb, 1, &err), CD_OK);
    }
    assert_int_equal(cd_trainer_save(t, path, NULL, NULL, &err), CD_OK);
    cd_trainer_free(t);
}

/* A keyword of a one-letter prefix ("w*") could be any token's word, so
 * the desk does not sample: it makes the whole list, counting the
 * lexicon's rows as it goes (keep_token).  The rows are those of the list
 * read again, and each model's p that of the model alone. */
static void whole_list_when_a_prefix_is_one_letter(void **state)
{
    (void)state;
    char *dir = scratch_dir();
    char path[4096];
    snprintf(path, sizeof path, "%s/one.cdm", dir);
    train_one_letter(path, "trade", "sport");
    snprintf(path, sizeof path, "%s/two.cdm", dir);
    train_one_letter(path, "money", "games");
    cd_desk *d = load_desk(dir,
        "model(\"one\", \"one.cdm\")\n"
        "model(\"two\", \"two.cdm\")\n"
        "taxonomy {\n"
        "  { id = \"trade\", name = \"Trade\", labels = { \"one:trade\" },\n"
        "    keywords = { \"w*\", \"trade deficit\", { \"w*\", near = \"quota\", within = 3 } } },\n"
        "  { id = \"sport\", name = \"Sport\", keywords = { \"cup final\", \"penalt*\" } },\n"
        "}\n"
        "destination \"x\" { folder = \"out/x\" }\n"
        "fallback \"x\"\n");
    assert_non_null(d);
    assert_non_null(d->lex);
    assert_non_null(d->tok_fill);
    assert_false(d->sampling);
    static const char *const bodies[] = {
        "A W-shaped recovery, a trade deficit and a quota: a tariff war, w/o end.",
        "The cup final: a penalty, a save, a goal at 3 a.m. and a W.",
        "",
        /* more than a batch of tokens (DESK_BATCH), terms to the end */
        "Tariffs on imports, a quota: a trade deficit. The striker scored. "
        "Tariffs on imports, a quota: a trade deficit. The striker scored. "
        "Tariffs on imports, a quota: a trade deficit. The striker scored. "
        "Tariffs on imports, a quota: a trade deficit. The striker scored. "
        "Tariffs on imports, a quota: a trade deficit. The striker scored.",
    };
    for (size_t k = 0; k < sizeof bodies / sizeof *bodies; k++) {
        cd_story s;
        make_story(&s, "s", "A w title", bodies[k], NULL);
        cd_decision dec;
        cd_error err;
        assert_int_equal(cd_desk_route(d, &s, 1, &dec, &err), CD_OK);
        const cd_toklist *full = d->cur.toks;
        assert_non_null(full);
        assert_ptr_equal(d->cur.kw_toks, full);
        check_rows(d, full);
        char text[512];
        snprintf(text, sizeof text, "%s\n%s", s.title, s.body);
        static const char *const labels[][2] = {
            { "one:trade", "trade" }, { "one:sport", "sport" },
            { "two:money", "money" }, { "two:games", "games" },
        };
        for (size_t i = 0; i < 4; i++) {
            const cd_model *m = d->models[i / 2].model;
            double alone = label_prob(m, text, labels[i][1]);
            assert_true(alone >= 0);
            assert_true(fabs(cdi_desk_label_p(labels[i][0], d) - alone) < 1e-12);
        }
        /* the one-letter prefix counts every token of a w */
        size_t ws = 0;
        for (size_t i = 0; i < full->n; i++)
            ws += full->text[full->off[i]] == 'w';
        assert_int_equal(cdi_topics_keyword_hits(d->topics, 0, 0, full), ws);
        cd_story_clear(&s);
    }
    cd_desk_free(d);
    scratch_remove(dir);
}

/* ---- a desk sharing a sampling desk's tokens (diff) --------------------- */

static void sharing_desk_decides_as_alone(void **state)
{
    (void)state;
    cd_desk *base = load(""), *d = load(rules), *alone = load(rules);
    int shared = 0;
    cd_desk_share(d, base, &shared);
    assert_true(shared);
    for (size_t k = 0; k < sizeof edge / sizeof *edge; k++) {
        cd_story s;
        make_story(&s, edge[k].id, edge[k].title, edge[k].body, NULL);
        cd_decision dec;
        cd_error err;
        assert_int_equal(cd_desk_route(base, &s, 1, &dec, &err), CD_OK);
        assert_null(base->cur.toks);
        assert_int_equal(cd_desk_route(d, &s, 1, &dec, &err), CD_OK);
        if (dec.error)
            fail_msg("%s", dec.error);
        assert_ptr_equal(d->cur.toks, base->cur.toks);   /* made once, for both */
        assert_int_equal(cd_desk_route(alone, &s, 1, &dec, &err), CD_OK);
        for (size_t i = 0; i < cdi_topics_count(d->topics); i++) {
            assert_true(d->cur.scores[i].hits == alone->cur.scores[i].hits);
            assert_true(d->cur.scores[i].score == alone->cur.scores[i].score);
        }
        cd_story_clear(&s);
    }
    cd_desk_free(d);
    cd_desk_free(alone);
    cd_desk_free(base);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(sample_counts_as_the_whole_list),
        cmocka_unit_test(sample_of_words_of_no_model),
        cmocka_unit_test(edge_cases_as_before),
        cmocka_unit_test(queries_count_in_a_sample_as_in_the_list),
        cmocka_unit_test(whole_list_when_a_prefix_is_one_letter),
        cmocka_unit_test(sharing_desk_decides_as_alone),
        cmocka_unit_test(lede_found_when_asked),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
