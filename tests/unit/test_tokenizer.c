/*
 * test_tokenizer.c - unit tests of the tokenizer (core/text/tokenizer.c) and
 * the stop-word list (core/text/stopwords.c).
 *
 * Each test tokenizes a text and compares the tokens with the expected
 * list.  Every text is first copied into a malloc'd buffer of exactly its
 * length, with no NUL after it, so that AddressSanitizer (debug build) or
 * valgrind report any read past the end.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <utf8proc.h>

#include "copydesk.h"

/* ---- helpers ------------------------------------------------------------ */

#define MAX_TOKENS 256

typedef struct collect {
    char *tok[MAX_TOKENS];
    size_t n;
    size_t calls;
    size_t stop_after;  /* the callback returns 1 on this call; 0: never */
} collect;

static int collect_fn(const char *t, size_t len, void *ud)
{
    collect *c = ud;
    c->calls++;
    if (c->n < MAX_TOKENS) {
        char *copy = malloc(len + 1);
        assert_non_null(copy);
        memcpy(copy, t, len);
        copy[len] = '\0';
        c->tok[c->n++] = copy;
    }
    return c->stop_after != 0 && c->calls >= c->stop_after;
}

static void collect_clear(collect *c)
{
    for (size_t k = 0; k < c->n; k++)
        free(c->tok[k]);
    c->n = 0;
    c->calls = 0;
}

/* A copy of text in a buffer of exactly len bytes. */
static char *exact_copy(const char *text, size_t len)
{
    char *buf = malloc(len ? len : 1);
    assert_non_null(buf);
    memcpy(buf, text, len);
    return buf;
}

static cd_tokenizer *new_tok(const cd_tok_opts *o)
{
    cd_tokenizer *t = NULL;
    cd_error err;
    assert_int_equal(cd_tokenizer_new(o, &t, &err), CD_OK);
    assert_non_null(t);
    return t;
}

/* Tokenize len bytes of text with options o (NULL: defaults) into c;
 * returns what cd_tokenize returned. */
static size_t run(const cd_tok_opts *o, const char *text, size_t len, collect *c)
{
    cd_tokenizer *t = new_tok(o);
    char *buf = exact_copy(text, len);
    size_t n = cd_tokenize(t, buf, len, collect_fn, c);
    free(buf);
    cd_tokenizer_free(t);
    return n;
}

static void print_list(const char *what, const char *const *list, size_t n)
{
    print_error("  %s (%zu):", what, n);
    for (size_t k = 0; k < n; k++)
        print_error(" [%s]", list[k]);
    print_error("\n");
}

static void check_tokens(const char *file, int line, const cd_tok_opts *o,
                         const char *text, size_t len, const char *const *expected)
{
    collect c = { .n = 0 };
    size_t count = run(o, text, len, &c);
    size_t n_exp = 0;
    while (expected[n_exp])
        n_exp++;
    int same = count == c.n && c.n == n_exp;
    for (size_t k = 0; same && k < n_exp; k++)
        same = strcmp(c.tok[k], expected[k]) == 0;
    if (!same) {
        print_error("%s:%d: tokens of \"%.*s\" differ\n", file, line, (int)len, text);
        print_list("expected", expected, n_exp);
        print_list("got", (const char *const *)c.tok, c.n);
        print_error("  cd_tokenize returned %zu\n", count);
    }
    collect_clear(&c);
    if (!same)
        _fail(file, line);
}

/* CHECK(opts, "text", "tok1", "tok2", ...); CHECK(opts, "text", NULL) for
 * no tokens.  The text may hold NUL bytes: its length is its size. */
#define CHECK(o, text, ...) \
    check_tokens(__FILE__, __LINE__, (o), (text), sizeof(text) - 1, \
                 (const char *const[]){ __VA_ARGS__, NULL })

static cd_tok_opts defaults(void)
{
    cd_tok_opts o;
    cd_tok_opts_default(&o);
    return o;
}

/* Defaults without stop-word removal, to see every word. */
static cd_tok_opts all_words(void)
{
    cd_tok_opts o = defaults();
    o.stopwords = 0;
    return o;
}

/* ---- options ------------------------------------------------------------ */

static void test_opts_default(void **state)
{
    (void)state;
    cd_tok_opts o;
    memset(&o, 0xAB, sizeof o);
    cd_tok_opts_default(&o);
    assert_int_equal(o.min_len, 2);
    assert_int_equal(o.max_len, 40);
    assert_int_equal(o.stopwords, 1);
    assert_int_equal(o.bigrams, 0);
    assert_int_equal(o.stem, 0);
    assert_int_equal(o.fold_numbers, 0);
}

static void expect_rejected(cd_tok_opts o)
{
    cd_tokenizer *t = (cd_tokenizer *)&t;  /* not NULL, to see it cleared */
    cd_error err = { .code = CD_OK };
    assert_int_equal(cd_tokenizer_new(&o, &t, &err), CD_ERR_ARG);
    assert_null(t);
    assert_int_equal(err.code, CD_ERR_ARG);
    assert_true(strlen(err.msg) > 0);
}

static void test_new_rejects_bad_opts(void **state)
{
    (void)state;
    cd_tok_opts o = defaults();
    o.min_len = 0;
    expect_rejected(o);
    o = defaults();
    o.min_len = 5;
    o.max_len = 4;
    expect_rejected(o);
    o = defaults();
    o.max_len = CD_TOK_MAX_LEN + 1;
    expect_rejected(o);
    o = defaults();
    o.min_len = CD_TOK_MAX_LEN + 1;
    o.max_len = CD_TOK_MAX_LEN + 1;
    expect_rejected(o);
    /* err may be NULL */
    cd_tokenizer *t = NULL;
    o.min_len = 0;
    assert_int_equal(cd_tokenizer_new(&o, &t, NULL), CD_ERR_ARG);
    assert_null(t);
    assert_int_equal(cd_tokenizer_new(NULL, NULL, NULL), CD_ERR_ARG);
}

static void test_new_accepts_limits(void **state)
{
    (void)state;
    cd_tok_opts o = defaults();
    o.min_len = 1;
    o.max_len = 1;
    cd_tokenizer_free(new_tok(&o));
    o.min_len = CD_TOK_MAX_LEN;
    o.max_len = CD_TOK_MAX_LEN;
    cd_tokenizer_free(new_tok(&o));
    cd_tokenizer_free(NULL);
}

static void test_opts_returned(void **state)
{
    (void)state;
    cd_tokenizer *t = new_tok(NULL);
    cd_tok_opts d = defaults();
    assert_memory_equal(cd_tokenizer_opts(t), &d, sizeof d);
    cd_tokenizer_free(t);

    cd_tok_opts o = { .min_len = 3, .max_len = 9, .stopwords = 7, .bigrams = 2,
                      .stem = 255, .fold_numbers = 0 };
    t = new_tok(&o);
    const cd_tok_opts *got = cd_tokenizer_opts(t);
    assert_int_equal(got->min_len, 3);
    assert_int_equal(got->max_len, 9);
    /* flags are normalized to 0/1 */
    assert_int_equal(got->stopwords, 1);
    assert_int_equal(got->bigrams, 1);
    assert_int_equal(got->stem, 1);
    assert_int_equal(got->fold_numbers, 0);
    cd_tokenizer_free(t);
}

/* ---- words, folding, separators ------------------------------------------- */

static void test_basic_ascii(void **state)
{
    (void)state;
    cd_tok_opts o = defaults();
    CHECK(&o, "Hello, World! The quick brown fox (jumps) over_the \"lazy\" dog.",
          "hello", "world", "quick", "brown", "fox", "jumps", "lazy", "dog");
    CHECK(&o, "UPPER lower MiXeD", "upper", "lower", "mixed");
    CHECK(&o, "email@example.com #tag a/b path\\dir",
          "email", "example", "com", "tag", "path", "dir");
}

static void test_case_folding(void **state)
{
    (void)state;
    cd_tok_opts o = defaults();
    /* NFC, upper case, NFD (E + U+0301) */
    CHECK(&o, "\xC3\x89lys\xC3\xA9" "e \xC3\x89LYS\xC3\x89" "E E\xCC\x81lyse\xCC\x81" "e",
          "\xC3\xA9lys\xC3\xA9" "e", "\xC3\xA9lys\xC3\xA9" "e", "\xC3\xA9lys\xC3\xA9" "e");
    /* full case folding: sharp s -> ss */
    CHECK(&o, "Stra\xC3\x9F" "e STRASSE", "strasse", "strasse");
    /* Greek: capital and final sigma both fold to sigma */
    CHECK(&o, "\xCE\x9F\xCE\x94\xCE\x9F\xCE\xA3 \xCE\xBF\xCE\xB4\xCE\xBF\xCF\x82",
          "\xCE\xBF\xCE\xB4\xCE\xBF\xCF\x83", "\xCE\xBF\xCE\xB4\xCE\xBF\xCF\x83");
    /* Cyrillic */
    CHECK(&o, "\xD0\x9C\xD0\x9E\xD0\xA1\xD0\x9A\xD0\x92\xD0\x90",
          "\xD0\xBC\xD0\xBE\xD1\x81\xD0\xBA\xD0\xB2\xD0\xB0");
    /* Kelvin sign folds to k */
    CHECK(&o, "\xE2\x84\xAAm", "km");
    /* an accented letter followed by ASCII, and the other way round */
    CHECK(&o, "\xC3\xA9t\xC3\xA9 caf\xC3\xA9", "\xC3\xA9t\xC3\xA9", "caf\xC3\xA9");
}

/* Marks in either order, or precomposed, give the same NFC token. */
static void test_canonical_order(void **state)
{
    (void)state;
    cd_tok_opts o = defaults();
    /* e + dot below (ccc 220) + acute (ccc 230), acute first, and U+1EB9 + acute */
    CHECK(&o, "te\xCC\xA3\xCC\x81t te\xCC\x81\xCC\xA3t t\xE1\xBA\xB9\xCC\x81t",
          "t\xE1\xBA\xB9\xCC\x81t", "t\xE1\xBA\xB9\xCC\x81t", "t\xE1\xBA\xB9\xCC\x81t");
    /* Hangul jamo compose to a syllable: U+1112 U+1161 U+11AB -> U+D55C */
    CHECK(&o, "\xE1\x84\x92\xE1\x85\xA1\xE1\x86\xAB\xEA\xB8\x80",
          "\xED\x95\x9C\xEA\xB8\x80");
}

static int is_mark(int32_t cp)
{
    utf8proc_category_t c = utf8proc_category(cp);
    return c == UTF8PROC_CATEGORY_MN || c == UTF8PROC_CATEGORY_MC ||
           c == UTF8PROC_CATEGORY_ME;
}

/* Two facts about Unicode (as the utf8proc in use knows it) that
 * core/text/tokenizer.c is built on:
 *   - no code point has a canonical decomposition longer than 4 code
 *     points (DECOMP_MAX, which sizes the code point buffer);
 *   - U+0345 is the only mark whose case folding holds a non-mark (the
 *     YPOGEGRAMMENI special case). */
static void test_utf8proc_assumptions(void **state)
{
    (void)state;
    for (int32_t cp = 0x80; cp <= 0x10FFFF; cp++) {
        if (cp >= 0xD800 && cp <= 0xDFFF)
            continue;
        int32_t buf[16];
        utf8proc_ssize_t n = utf8proc_decompose_char(cp, buf, 16, UTF8PROC_DECOMPOSE, NULL);
        if (n < 0 || n > 4)
            fail_msg("U+%04X decomposes to %d code points", (unsigned)cp, (int)n);
        if (!is_mark(cp))
            continue;
        n = utf8proc_decompose_char(cp, buf, 16, UTF8PROC_CASEFOLD, NULL);
        assert_in_range(n, 0, 16);
        int letters = 0;
        for (utf8proc_ssize_t k = 0; k < n; k++)
            letters += !is_mark(buf[k]);
        if (letters != 0 && cp != 0x0345)
            fail_msg("mark U+%04X folds to a letter", (unsigned)cp);
    }
}

/* U+0345 folds to iota and counts as the letter it becomes. */
static void test_ypogegrammeni(void **state)
{
    (void)state;
    cd_tok_opts o = all_words();
    o.min_len = 1;
    CHECK(&o, "\xCE\x91\xCD\x85", "\xCE\xB1\xCE\xB9");
    CHECK(&o, "S.K\xCD\x85. 1\xCD\x85.5", "s", "k\xCE\xB9", "1\xCE\xB9", "5");
}

static void test_unicode_spaces(void **state)
{
    (void)state;
    cd_tok_opts o = defaults();
    CHECK(&o, "foo\xC2\xA0" "bar", "foo", "bar");            /* U+00A0 */
    CHECK(&o, "foo\xE2\x80\x83" "bar", "foo", "bar");        /* U+2003 em space */
    CHECK(&o, "foo\xE3\x80\x80" "bar", "foo", "bar");        /* U+3000 */
    CHECK(&o, "foo\xE2\x80\xAF" "bar", "foo", "bar");        /* U+202F */
    CHECK(&o, "foo\tbar\nbaz\r\nqux\vquux\fend", "foo", "bar", "baz", "qux", "quux", "end");
    CHECK(&o, "foo\xE2\x80\xA8" "bar\xE2\x80\xA9" "baz", "foo", "bar", "baz");
}

static void test_punctuation_and_symbols_separate(void **state)
{
    (void)state;
    cd_tok_opts o = defaults();
    CHECK(&o, "\xE2\x80\x9Cquoted\xE2\x80\x9D \xC2\xABguillemets\xC2\xBB",
          "quoted", "guillemets");
    CHECK(&o, "price\xE2\x82\xAC" "99 \xC2\xA3" "50 \xC2\xA5" "70", "price", "99", "50", "70");
    CHECK(&o, "love\xE2\x9D\xA4\xEF\xB8\x8Fpeace \xF0\x9F\x98\x80smile", "love", "peace", "smile");
    CHECK(&o, "snake_case a+b=c x*y", "snake", "case");
    CHECK(&o, "\xC2\xBFQu\xC3\xA9?", "qu\xC3\xA9");
}

/* Format characters (Cf) are skipped as if absent. */
static void test_ignorables(void **state)
{
    (void)state;
    cd_tok_opts o = defaults();
    CHECK(&o, "co\xC2\xADoperate", "cooperate");              /* soft hyphen */
    CHECK(&o, "zero\xE2\x80\x8Bwidth", "zerowidth");          /* U+200B */
    CHECK(&o, "\xEF\xBB\xBFstart", "start");                  /* BOM */
    CHECK(&o, "\xE2\x80\x8F\xE2\x80\x8E", NULL);              /* bidi marks only */
}

/* ---- the documented rules ------------------------------------------------- */

static void test_apostrophes(void **state)
{
    (void)state;
    cd_tok_opts o = all_words();
    CHECK(&o, "Russia's", "russia");
    CHECK(&o, "Russia\xE2\x80\x99s", "russia");
    CHECK(&o, "RUSSIA'S army", "russia", "army");
    CHECK(&o, "don't", "dont");
    CHECK(&o, "O'Brien", "obrien");
    CHECK(&o, "O\xE2\x80\x99" "Brien's", "obrien");
    CHECK(&o, "O'Sullivan rock'n'roll", "osullivan", "rocknroll");
    CHECK(&o, "the students' union", "the", "students", "union");
    CHECK(&o, "'tis 'quoted'", "tis", "quoted");
    CHECK(&o, "1990's", "1990");           /* between a digit and a letter: separates */
    CHECK(&o, "Russia's-led", "russia", "led");
    CHECK(&o, "it''s", "it");              /* doubled: separates, "s" too short */
    /* with the stop-word list, contractions go */
    cd_tok_opts d = defaults();
    CHECK(&d, "don't won't can't isn't it's", "wont", "cant");
}

static void test_hyphens_and_dashes(void **state)
{
    (void)state;
    cd_tok_opts o = all_words();
    CHECK(&o, "Kim Jong-un", "kim", "jong-un");
    CHECK(&o, "Jong\xE2\x80\x90un Jong\xE2\x80\x91un", "jong-un", "jong-un");
    CHECK(&o, "10-year well-known", "10-year", "well-known");
    CHECK(&o, "2010\xE2\x80\x93" "2015", "2010", "2015");         /* en dash */
    CHECK(&o, "war\xE2\x80\x94peace", "war", "peace");            /* em dash */
    CHECK(&o, "war \xE2\x80\x94 peace", "war", "peace");
    CHECK(&o, "well--known -leading trailing- - x-", "well", "known", "leading", "trailing");
    CHECK(&o, "state-of-the-art", "state-of-the-art");
    CHECK(&o, "caf\xC3\xA9-bar", "caf\xC3\xA9-bar");
}

static void test_acronyms(void **state)
{
    (void)state;
    cd_tok_opts o = all_words();
    CHECK(&o, "U.S.", "u.s");
    CHECK(&o, "U.S", "u.s");
    CHECK(&o, "the U.S. economy", "the", "u.s", "economy");
    CHECK(&o, "U.S.A. e.g. i.e., a.m.", "u.s.a", "e.g", "i.e", "a.m");
    CHECK(&o, "U.S.-Japan talks", "u.s", "japan", "talks");
    CHECK(&o, "Ph.D. holder", "ph", "holder");
    CHECK(&o, "E\xCC\x81.U. \xC3\x89.U.", "\xC3\xA9.u", "\xC3\xA9.u");  /* NFD, NFC */
    cd_tok_opts one = all_words();
    one.min_len = 1;
    CHECK(&one, "A.Smith", "a", "smith");
    CHECK(&one, "John F. Kennedy", "john", "f", "kennedy");
    CHECK(&one, "example.com", "example", "com");
    /* after an acronym, an inner apostrophe separates; a hyphen joins */
    CHECK(&one, "U.S'x U.S's U.S-Japan", "u.s", "x", "u.s", "u.s-japan");
    /* letters are counted after folding: sharp s is two, a ligature too */
    CHECK(&one, "S.\xC3\x9F. \xC3\x9F.A. A.\xEF\xAC\x81.", "s", "ss", "ss", "a", "a", "fi");
    /* a precomposed or decomposed accented capital is one letter */
    CHECK(&one, "\xC3\x89.A. E\xCC\x81.A.", "\xC3\xA9.a", "\xC3\xA9.a");
}

static void test_numbers(void **state)
{
    (void)state;
    cd_tok_opts o = all_words();
    CHECK(&o, "$10.5bn", "10.5bn");
    CHECK(&o, "1,000 people", "1,000", "people");
    CHECK(&o, "\xE2\x82\xAC" "1,000,000.50", "1,000,000.50");
    CHECK(&o, "3.14. 2.5, 10,", "3.14", "2.5", "10");
    CHECK(&o, "v1.2 covid19", "v1.2", "covid19");
    CHECK(&o, "12:30 .75 ,50", "12", "30", "75", "50");
    CHECK(&o, "1a.2", "1a");               /* a dot after a letter: separates */
    cd_tok_opts one = all_words();
    one.min_len = 1;
    CHECK(&one, "1, 2, 3", "1", "2", "3");
    CHECK(&one, "-5 +7", "5", "7");
}

static void test_fold_numbers(void **state)
{
    (void)state;
    cd_tok_opts o = all_words();
    o.fold_numbers = 1;
    CHECK(&o, "$10.5bn", "0.0bn");
    CHECK(&o, "1987", "0");
    CHECK(&o, "1,000 covid19 10-year", "0,0", "covid0", "0-year");
    CHECK(&o, "7 42", "0");                /* the length rule sees "7" and "42" */
    CHECK(&o, "\xD9\xA1\xD9\xA9\xD9\xA8\xD9\xA7", "0");  /* Arabic-Indic digits */
    CHECK(&o, "plain words", "plain", "words");
    cd_tok_opts off = all_words();
    CHECK(&off, "1987", "1987");
}

static void test_sentence_final_period(void **state)
{
    (void)state;
    cd_tok_opts o = all_words();
    CHECK(&o, "It ended. Then", "it", "ended", "then");
    CHECK(&o, "end.Start", "end", "start");
    CHECK(&o, "in 1987.", "in", "1987");
    CHECK(&o, "wait... what?!", "wait", "what");
    CHECK(&o, "last word.", "last", "word");
}

/* ---- bad input ------------------------------------------------------------ */

static void test_invalid_utf8(void **state)
{
    (void)state;
    cd_tok_opts o = defaults();
    CHECK(&o, "ab\xC0\x80" "cd", "ab", "cd");               /* overlong NUL */
    CHECK(&o, "ab\xC1\xBF" "cd", "ab", "cd");               /* overlong 2-byte */
    CHECK(&o, "ab\xE0\x80\xAF" "cd", "ab", "cd");           /* overlong '/' */
    CHECK(&o, "ab\xF0\x80\x80\xAF" "cd", "ab", "cd");       /* overlong 4-byte */
    CHECK(&o, "ab\x80" "cd", "ab", "cd");                   /* lone continuation */
    CHECK(&o, "ab\xBF\xBF" "cd", "ab", "cd");
    CHECK(&o, "ab\xED\xA0\x80" "cd", "ab", "cd");           /* surrogate U+D800 */
    CHECK(&o, "ab\xED\xBF\xBF" "cd", "ab", "cd");           /* surrogate U+DFFF */
    CHECK(&o, "ab\xF4\x90\x80\x80" "cd", "ab", "cd");       /* > U+10FFFF */
    CHECK(&o, "ab\xF5\x80\x80\x80" "cd", "ab", "cd");
    CHECK(&o, "ab\xFE\xFF" "cd", "ab", "cd");
    CHECK(&o, "ab\xC3" "cd", "ab", "cd");                   /* truncated, then ASCII */
    CHECK(&o, "ab\xE2\x82" "cd", "ab", "cd");
    /* truncated at the very end of the buffer */
    CHECK(&o, "caf\xC3", "caf");
    CHECK(&o, "abc\xE2\x80", "abc");
    CHECK(&o, "abc\xF0\x9F\x98", "abc");
    CHECK(&o, "\xF0", NULL);
    /* an invalid byte inside a possessive, an acronym and a number */
    CHECK(&o, "Russia'\xFFs", "russia");
    CHECK(&o, "10.\x80" "5", "10");
    cd_tok_opts one = all_words();
    one.min_len = 1;
    CHECK(&one, "U.\xFFS.", "u", "s");
}

static void test_nul_bytes(void **state)
{
    (void)state;
    cd_tok_opts o = defaults();
    CHECK(&o, "foo\0bar", "foo", "bar");
    CHECK(&o, "\0\0foo\0\0", "foo");
    cd_tok_opts one = all_words();
    one.min_len = 1;
    CHECK(&one, "U.\0S.", "u", "s");
    CHECK(&o, "1,\0" "000", "000");
}

static void test_empty_input(void **state)
{
    (void)state;
    cd_tok_opts o = defaults();
    CHECK(&o, "", NULL);
    CHECK(&o, " \t\n.,;!?-'", NULL);
    cd_tokenizer *t = new_tok(NULL);
    collect c = { .n = 0 };
    assert_int_equal(cd_tokenize(t, NULL, 0, collect_fn, &c), 0);
    assert_int_equal(cd_tokenize(t, "x", 0, collect_fn, &c), 0);
    assert_int_equal(c.calls, 0);
    cd_tokenizer_free(t);
}

static char *repeat(const char *unit, size_t times, size_t *len)
{
    size_t u = strlen(unit);
    char *s = malloc(u * times + 1);
    assert_non_null(s);
    for (size_t k = 0; k < times; k++)
        memcpy(s + k * u, unit, u);
    s[u * times] = '\0';
    *len = u * times;
    return s;
}

/* Tokenize prefix + (unit x times) + suffix; return the tokens in c. */
static void run_repeated(const cd_tok_opts *o, const char *prefix, const char *unit,
                         size_t times, const char *suffix, collect *c)
{
    size_t ulen, plen = strlen(prefix), slen = strlen(suffix);
    char *mid = repeat(unit, times, &ulen);
    size_t len = plen + ulen + slen;
    char *buf = malloc(len);
    assert_non_null(buf);
    memcpy(buf, prefix, plen);
    memcpy(buf + plen, mid, ulen);
    memcpy(buf + plen + ulen, suffix, slen);
    run(o, buf, len, c);
    free(buf);
    free(mid);
}

static void test_too_long_dropped(void **state)
{
    (void)state;
    cd_tok_opts o = defaults();
    collect c = { .n = 0 };
    run_repeated(&o, "ok ", "a", 41, " end", &c);       /* 41 > max_len 40 */
    assert_int_equal(c.n, 2);
    assert_string_equal(c.tok[0], "ok");
    assert_string_equal(c.tok[1], "end");
    collect_clear(&c);

    run_repeated(&o, "", "a", 40, "", &c);              /* exactly 40: kept */
    assert_int_equal(c.n, 1);
    assert_int_equal(strlen(c.tok[0]), 40);
    collect_clear(&c);

    run_repeated(&o, "x ", "Ab", 50000, " yz", &c);     /* 100000 letters */
    assert_int_equal(c.n, 1);
    assert_string_equal(c.tok[0], "yz");
    collect_clear(&c);

    /* a long word of non-ASCII letters, and one that turns non-ASCII late */
    run_repeated(&o, "", "\xC3\xA9", 41, " ok", &c);
    assert_int_equal(c.n, 1);
    assert_string_equal(c.tok[0], "ok");
    collect_clear(&c);
    run_repeated(&o, "", "a", 39, "\xC3\xA9\xC3\xA9 ok", &c);
    assert_int_equal(c.n, 1);
    assert_string_equal(c.tok[0], "ok");
    collect_clear(&c);

    /* NFD: 40 letters as 80 code points compose to 40 and are kept ... */
    run_repeated(&o, "", "e\xCC\x81", 40, "", &c);
    assert_int_equal(c.n, 1);
    assert_int_equal(strlen(c.tok[0]), 80);             /* 40 x U+00E9 */
    assert_memory_equal(c.tok[0], "\xC3\xA9\xC3\xA9", 4);
    collect_clear(&c);
    /* ... 41 are not */
    run_repeated(&o, "", "e\xCC\x81", 41, "", &c);
    assert_int_equal(c.n, 0);
    collect_clear(&c);
    /* a letter under 200 marks: 201 code points */
    run_repeated(&o, "a", "\xCC\x81", 200, " ok", &c);
    assert_int_equal(c.n, 1);
    assert_string_equal(c.tok[0], "ok");
    collect_clear(&c);
}

static void test_length_limits(void **state)
{
    (void)state;
    cd_tok_opts o = all_words();
    o.min_len = 3;
    o.max_len = 5;
    CHECK(&o, "ab abc abcde abcdef", "abc", "abcde");
    /* code points, not bytes: 2-letter "éé" is 4 bytes */
    CHECK(&o, "\xC3\xA9\xC3\xA9 \xC3\xA9\xC3\xA9\xC3\xA9", "\xC3\xA9\xC3\xA9\xC3\xA9");
    /* folding counts: "ß" is one character but "ss" after folding */
    o.min_len = 2;
    CHECK(&o, "\xC3\x9F", "ss");
    /* the hyphen and dots count */
    CHECK(&o, "ab-cd ab-cde u.s.a.b.", "ab-cd");
    o.min_len = 1;
    o.max_len = 1;
    CHECK(&o, "a bb c", "a", "c");
}

/* Texts that end right where the tokenizer looks ahead.  Each is in an
 * exact-size buffer, so a read past the end is caught by ASan/valgrind. */
static void test_not_nul_terminated(void **state)
{
    (void)state;
    cd_tok_opts o = all_words();
    CHECK(&o, "word", "word");
    CHECK(&o, "U.S", "u.s");
    CHECK(&o, "U.", NULL);
    CHECK(&o, "ab U.", "ab");
    CHECK(&o, "Russia'", "russia");
    CHECK(&o, "Russia's", "russia");
    CHECK(&o, "don'", "don");
    CHECK(&o, "10.", "10");
    CHECK(&o, "1,", NULL);
    CHECK(&o, "10,", "10");
    CHECK(&o, "Jong-", "jong");
    CHECK(&o, "Jong\xE2\x80\x90", "jong");
    CHECK(&o, "Jong\xE2\x80", "jong");
    CHECK(&o, "ab\xCC\x81", "ab\xCC\x81");
    CHECK(&o, "co\xC2\xAD", "co");
}

/* ---- options ------------------------------------------------------------ */

static void test_stopwords_on_off(void **state)
{
    (void)state;
    cd_tok_opts on = defaults();
    cd_tok_opts off = all_words();
    CHECK(&on, "The cat and THE hat of ourselves", "cat", "hat");
    CHECK(&off, "The cat and THE hat", "the", "cat", "and", "the", "hat");
    /* checked before stemming: "having" is a stop word, "haves" is not */
    cd_tok_opts st = defaults();
    st.stem = 1;
    CHECK(&st, "having haves", "have");
}

static const char *const stop_sample[] = {
    "a", "i", "am", "an", "as", "we", "the", "and", "you", "them", "with",
    "your", "about", "youve", "before", "werent", "against", "wouldnt",
    "shouldnt", "yourself", "ourselves", "themselves", "yourselves",
    "dont", "isnt", "cannot", "im", "hed", "theyre",
};

static const char *const not_stop[] = {
    "", "b", "ab", "The", "thee", "theme", "cat", "well", "hell", "shell",
    "cant", "wont", "ill", "id", "shed", "wed", "said", "zzz", "zzzzzzzzzzz",
    "themselvesx", "aa", "yourselve", "\xC3\xA9t\xC3\xA9",
};

static void test_is_stopword(void **state)
{
    (void)state;
    for (size_t k = 0; k < sizeof stop_sample / sizeof *stop_sample; k++) {
        const char *w = stop_sample[k];
        char *buf = exact_copy(w, strlen(w));
        if (!cd_is_stopword(buf, strlen(w)))
            fail_msg("\"%s\" should be a stop word", w);
        free(buf);
    }
    for (size_t k = 0; k < sizeof not_stop / sizeof *not_stop; k++) {
        const char *w = not_stop[k];
        char *buf = exact_copy(w, strlen(w));
        if (cd_is_stopword(buf, strlen(w)))
            fail_msg("\"%s\" should not be a stop word", w);
        free(buf);
    }
    /* the length is what counts, not a NUL */
    assert_true(cd_is_stopword("theyre", 4));   /* "they" */
    assert_false(cd_is_stopword("the\0", 4));
    assert_false(cd_is_stopword(NULL, 3));
}

/* Every word of the Snowball English list (contractions folded as the
 * tokenizer folds them) is found: catches a group out of order. */
static void test_stopword_list_complete(void **state)
{
    (void)state;
    static const char words[] =
        "i me my myself we our ours ourselves you your yours yourself "
        "yourselves he him his himself she her hers herself it its itself "
        "they them their theirs themselves what which who whom this that "
        "these those am is are was were be been being have has had having "
        "do does did doing would should could ought im youre theyre ive "
        "youve weve theyve youd hed theyd youll theyll isnt arent wasnt "
        "werent hasnt havent hadnt doesnt dont didnt wouldnt shant shouldnt "
        "cannot couldnt mustnt a an the and but if or because as until while "
        "of at by for with about against between into through during before "
        "after above below to from up down in out on off over under again "
        "further then once here there when where why how all any both each "
        "few more most other some such no nor not only own same so than too "
        "very";
    size_t found = 0;
    for (const char *p = words; *p;) {
        size_t n = strcspn(p, " ");
        char *buf = exact_copy(p, n);
        if (!cd_is_stopword(buf, n))
            fail_msg("\"%.*s\" should be a stop word", (int)n, p);
        free(buf);
        found++;
        p += n;
        p += *p == ' ';
    }
    assert_int_equal(found, 151);
}

static void test_bigrams(void **state)
{
    (void)state;
    cd_tok_opts o = defaults();
    o.bigrams = 1;
    /* stop words are skipped, not breaks */
    CHECK(&o, "Bank of England raises rates",
          "bank", "england", "bank england", "raises", "england raises",
          "rates", "raises rates");
    /* without stop-word removal they take part */
    cd_tok_opts all = all_words();
    all.bigrams = 1;
    CHECK(&all, "a bank of England",
          "bank", "of", "bank of", "england", "of england");
    /* tokens dropped for their length are skipped too */
    CHECK(&o, "tax x cut", "tax", "cut", "tax cut");
    CHECK(&o, "one", "one");
}

static void test_bigram_sentence_breaks(void **state)
{
    (void)state;
    cd_tok_opts o = defaults();
    o.bigrams = 1;
    CHECK(&o, "Markets fell. Prices rose", "markets", "fell", "markets fell",
          "prices", "rose", "prices rose");
    CHECK(&o, "Stop! Go? Now", "stop", "go", "now");
    CHECK(&o, "Headline news\nBody text", "headline", "news", "headline news",
          "body", "text", "body text");
    CHECK(&o, "wait\xE2\x80\xA6 later", "wait", "later");   /* ellipsis */
    CHECK(&o, "one\xE3\x80\x82two", "one", "two");         /* ideographic stop */
    /* an abbreviation dot is not a sentence end; a number's dot neither */
    CHECK(&o, "the U.S. economy grew 2.5 percent",
          "u.s", "economy", "u.s economy", "grew", "economy grew",
          "2.5", "grew 2.5", "percent", "2.5 percent");
    /* separators that are not sentence ends keep the pair */
    CHECK(&o, "trade, tariffs", "trade", "tariffs", "trade tariffs");
    /* the pair does not carry over from one call to the next */
    cd_tokenizer *t = new_tok(&o);
    collect c = { .n = 0 };
    char *a = exact_copy("alpha", 5), *b = exact_copy("beta", 4);
    assert_int_equal(cd_tokenize(t, a, 5, collect_fn, &c), 1);
    assert_int_equal(cd_tokenize(t, b, 4, collect_fn, &c), 1);
    assert_int_equal(c.n, 2);
    assert_string_equal(c.tok[1], "beta");
    collect_clear(&c);
    free(a);
    free(b);
    cd_tokenizer_free(t);
}

static void test_stem(void **state)
{
    (void)state;
    cd_tok_opts o = defaults();
    o.stem = 1;
    CHECK(&o, "running runs ran", "run", "run", "ran");
    CHECK(&o, "Markets generously", "market", "generous");
    CHECK(&o, "Russia's running", "russia", "run");
    /* tokens with digits are not stemmed */
    CHECK(&o, "running2 1990s", "running2", "1990s");
    /* the stem is what bigrams are made of */
    o.bigrams = 1;
    CHECK(&o, "running dogs", "run", "dog", "run dog");
    /* stemming and number folding */
    cd_tok_opts f = defaults();
    f.stem = 1;
    f.fold_numbers = 1;
    CHECK(&f, "running 10.5bn", "run", "0.0bn");
    /* off: untouched */
    cd_tok_opts off = defaults();
    CHECK(&off, "running", "running");
}

/* ---- the callback --------------------------------------------------------- */

static void test_callback_stop(void **state)
{
    (void)state;
    collect c = { .n = 0, .stop_after = 2 };
    const char text[] = "one two three four";
    assert_int_equal(run(NULL, text, sizeof text - 1, &c), 2);
    assert_int_equal(c.calls, 2);
    assert_string_equal(c.tok[1], "two");
    collect_clear(&c);

    /* stopping on a unigram: its bigram is not emitted */
    cd_tok_opts o = defaults();
    o.bigrams = 1;
    c.stop_after = 2;
    assert_int_equal(run(&o, text, sizeof text - 1, &c), 2);
    assert_string_equal(c.tok[1], "two");
    collect_clear(&c);
    /* stopping on a bigram */
    c.stop_after = 3;
    assert_int_equal(run(&o, text, sizeof text - 1, &c), 3);
    assert_string_equal(c.tok[2], "one two");
    collect_clear(&c);
    /* stopping on the first */
    c.stop_after = 1;
    assert_int_equal(run(&o, text, sizeof text - 1, &c), 1);
    collect_clear(&c);
}

static void test_null_callback_counts(void **state)
{
    (void)state;
    cd_tokenizer *t = new_tok(NULL);
    const char text[] = "one two three the";
    char *buf = exact_copy(text, sizeof text - 1);
    assert_int_equal(cd_tokenize(t, buf, sizeof text - 1, NULL, NULL), 3);
    free(buf);
    cd_tokenizer_free(t);
}

/* ---- robustness ----------------------------------------------------------- */

#ifndef ROUNDS
#define ROUNDS 2000
#endif
#ifndef SEED
#define SEED 0x9E3779B97F4A7C15u
#endif

static uint64_t rng_state = SEED;

static uint32_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (uint32_t)(rng_state >> 11);
}

/* Pieces that exercise every rule, and raw bytes. */
static const char *const pieces[] = {
    "a", "B", "z", "Q", "7", "0", "'", "\xE2\x80\x99", "s", "S", "-",
    "\xE2\x80\x90", "\xE2\x80\x94", ".", ",", "!", "?", " ", "\n", "\0",
    "\xC3\xA9", "E\xCC\x81", "\xCC\x81", "\xCC\xA3", "\xC3\x9F", "\xC2\xA0",
    "\xC2\xAD", "\xE2\x80\x8B", "\xD9\xA1", "\xE4\xB8\xAD", "\xF0\x9F\x98\x80",
    "\xC3", "\x80", "\xED\xA0\x80", "\xC0\x80", "\xFF", "\xE2\x80",
    "$", "U.S.", "don't", "1,000", "\xE2\x84\xAA", "\xCE\xA3",
    "\xE1\x84\x92", "\xE1\x85\xA1", "\xE1\x86\xAB", "\xCE\x90", "\xEF\xAC\x81",
    "\xC4\xB0", "\xCD\x85", "\xE2\x80\x91", "\xE2\x80\xA6", "\xC2\xB2",
};

#define NPIECES (sizeof pieces / sizeof *pieces)

static size_t make_text(char *buf, size_t cap)
{
    size_t n = 0, want = rnd() % cap;
    while (n < want) {
        if (rnd() % 8 == 0) {  /* a raw byte */
            buf[n++] = (char)(rnd() & 0xFF);
            continue;
        }
        const char *p = pieces[rnd() % NPIECES];
        size_t pl = *p ? strlen(p) : 1;  /* "\0" is one NUL byte */
        if (n + pl > want)
            break;
        memcpy(buf + n, p, pl);
        n += pl;
    }
    return n;
}

typedef struct fuzz_check {
    const cd_tok_opts *o;
    size_t tokens;
} fuzz_check;

/* Every token is non-empty valid UTF-8 without ASCII upper case, and
 * (without stemming or bigrams) within the length limits. */
static int fuzz_fn(const char *t, size_t len, void *ud)
{
    fuzz_check *f = ud;
    assert_non_null(t);
    assert_true(len > 0);
    size_t cps = 0;
    for (size_t k = 0; k < len; cps++) {
        int32_t cp;
        utf8proc_ssize_t w = utf8proc_iterate((const uint8_t *)t + k,
                                              (utf8proc_ssize_t)(len - k), &cp);
        assert_true(w > 0);
        assert_false(cp >= 'A' && cp <= 'Z');
        assert_true(cp != 0);
        k += (size_t)w;
    }
    if (!f->o->bigrams && !f->o->stem && !f->o->fold_numbers) {
        assert_true(cps >= f->o->min_len);
        assert_true(cps <= f->o->max_len);
    }
    f->tokens++;
    return 0;
}

static void test_random_input(void **state)
{
    (void)state;
    cd_tok_opts sets[4];
    sets[0] = defaults();
    sets[1] = all_words();
    sets[1].min_len = 1;
    sets[1].max_len = 3;
    sets[2] = defaults();
    sets[2].bigrams = 1;
    sets[2].stem = 1;
    sets[2].fold_numbers = 1;
    sets[3] = all_words();
    sets[3].min_len = 1;
    sets[3].max_len = CD_TOK_MAX_LEN;
    cd_tokenizer *toks[4];
    for (int k = 0; k < 4; k++)
        toks[k] = new_tok(&sets[k]);
    char scratch[600];
    size_t total = 0;
    for (int round = 0; round < ROUNDS + 1000; round++) {
        size_t len = make_text(scratch, sizeof scratch);
        char *buf = exact_copy(scratch, len);
        for (int k = 0; k < 4; k++) {
            fuzz_check f = { &sets[k], 0 };
            size_t n = cd_tokenize(toks[k], buf, len, fuzz_fn, &f);
            assert_int_equal(n, f.tokens);
            total += n;
        }
        free(buf);
    }
    assert_true(total > 1000);
    for (int k = 0; k < 4; k++)
        cd_tokenizer_free(toks[k]);
}

/* Tokenizing a token gives the token back (without stemming or number
 * folding): the folded forms are fixed points of the rules. */
static int idem_fn(const char *t, size_t len, void *ud)
{
    cd_tokenizer *tok = ud;
    collect c = { .n = 0 };
    char *buf = exact_copy(t, len);
    size_t n = cd_tokenize(tok, buf, len, collect_fn, &c);
    if (n != 1 || strlen(c.tok[0]) != len || memcmp(c.tok[0], t, len) != 0)
        fail_msg("token \"%.*s\" tokenizes to %zu token(s), first \"%s\"",
                 (int)len, t, n, n ? c.tok[0] : "");
    collect_clear(&c);
    free(buf);
    return 0;
}

static void test_tokens_are_fixed_points(void **state)
{
    (void)state;
    cd_tok_opts o = all_words();
    o.min_len = 1;
    cd_tokenizer *outer = new_tok(&o), *inner = new_tok(&o);
    char scratch[300];
    for (int round = 0; round < ROUNDS; round++) {
        size_t len = make_text(scratch, sizeof scratch);
        char *buf = exact_copy(scratch, len);
        cd_tokenize(outer, buf, len, idem_fn, inner);
        free(buf);
    }
    cd_tokenizer_free(outer);
    cd_tokenizer_free(inner);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_opts_default),
        cmocka_unit_test(test_new_rejects_bad_opts),
        cmocka_unit_test(test_new_accepts_limits),
        cmocka_unit_test(test_opts_returned),
        cmocka_unit_test(test_basic_ascii),
        cmocka_unit_test(test_case_folding),
        cmocka_unit_test(test_canonical_order),
        cmocka_unit_test(test_utf8proc_assumptions),
        cmocka_unit_test(test_ypogegrammeni),
        cmocka_unit_test(test_unicode_spaces),
        cmocka_unit_test(test_punctuation_and_symbols_separate),
        cmocka_unit_test(test_ignorables),
        cmocka_unit_test(test_apostrophes),
        cmocka_unit_test(test_hyphens_and_dashes),
        cmocka_unit_test(test_acronyms),
        cmocka_unit_test(test_numbers),
        cmocka_unit_test(test_fold_numbers),
        cmocka_unit_test(test_sentence_final_period),
        cmocka_unit_test(test_invalid_utf8),
        cmocka_unit_test(test_nul_bytes),
        cmocka_unit_test(test_empty_input),
        cmocka_unit_test(test_too_long_dropped),
        cmocka_unit_test(test_length_limits),
        cmocka_unit_test(test_not_nul_terminated),
        cmocka_unit_test(test_stopwords_on_off),
        cmocka_unit_test(test_is_stopword),
        cmocka_unit_test(test_stopword_list_complete),
        cmocka_unit_test(test_bigrams),
        cmocka_unit_test(test_bigram_sentence_breaks),
        cmocka_unit_test(test_stem),
        cmocka_unit_test(test_callback_stop),
        cmocka_unit_test(test_null_callback_counts),
        cmocka_unit_test(test_random_input),
        cmocka_unit_test(test_tokens_are_fixed_points),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
