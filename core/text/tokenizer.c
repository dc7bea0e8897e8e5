/*
 * tokenizer.c - UTF-8 text in, tokens out (see copydesk/tokenizer.h).
 *
 * The token rules, exactly (tests/unit/test_tokenizer.c checks each one):
 *
 *   Word characters  letters (Unicode L*), numbers other than decimal digits
 *                    (Nl, No) and decimal digits (Nd) start and continue a
 *                    word; marks (M*) continue a word but never start one.
 *   Folding          full Unicode case folding, then NFC, per token:
 *                    "Élysée", "ÉLYSÉE" and the NFD spelling all give
 *                    "élysée"; "Straße" gives "strasse".
 *   Separators       everything else: spaces (U+00A0 and the other Z*),
 *                    punctuation, symbols (so "$10" gives "10"), controls,
 *                    NUL bytes and every byte that is not part of valid
 *                    UTF-8 (overlong forms, surrogates, stray continuation
 *                    bytes, truncated sequences, > U+10FFFF).
 *   Ignorables       format characters (Cf: soft hyphen, zero-width space
 *                    and joiners, bidi marks, BOM) are skipped as if absent,
 *                    so "co<SHY>operate" gives "cooperate".
 *   Apostrophe       ' or U+2019 after a letter and before a letter: a final
 *                    possessive 's is dropped ("Russia's" -> "russia"); any
 *                    other such apostrophe is removed, joining ("don't" ->
 *                    "dont", "O'Brien" -> "obrien").  Elsewhere it separates
 *                    ("students' union", "'tis", "1990's" -> "1990" "s"),
 *                    and after a dotted acronym too ("U.S'x" -> "u.s" "x").
 *   Hyphen           -, U+2010 or U+2011 inside a word and before a letter or
 *                    digit joins, kept as '-' ("Jong-un" -> "jong-un",
 *                    "10-year"); a leading or trailing hyphen, en dash
 *                    U+2013, em dash U+2014 and doubled hyphens separate.
 *   Acronym          single letters joined by dots keep the inner dots and
 *                    lose the final one: "U.S." -> "u.s", "e.g." -> "e.g".
 *                    "U.S.-Japan" -> "u.s" "japan" (the hyphen follows a dot,
 *                    not a word character).  "Ph.D." -> "ph" "d".  Letters
 *                    are counted after case folding: "S.ß" -> "s" "ss".
 *   Number           '.' or ',' between two digits joins: "1,000",
 *                    "$10.5bn" -> "10.5bn", "v1.2" -> "v1.2".
 *   Period           any other '.' separates: a sentence-final period never
 *                    sticks to a word ("in 1987." -> "1987").
 *
 * Then, per token, in this order:
 *   1. length: tokens shorter than min_len or longer than max_len code
 *      points (of the folded NFC form) are dropped;
 *   2. stopwords: a folded token on the English list is dropped
 *      (core/text/stopwords.c);
 *   3. fold_numbers: each run of decimal digits becomes one "0"
 *      ("10.5bn" -> "0.0bn", "1987" -> "0"); the length rule has already
 *      been applied, so "1987" is kept and "7" is not;
 *   4. stem: Snowball English (libstemmer), for tokens without digits;
 *   5. bigrams: after each kept token w2 that follows a kept token w1 of
 *      the same sentence, "w1 w2" is emitted too.  Stop words and tokens
 *      dropped for their length are skipped, not breaks ("bank of england"
 *      -> "bank england").  A sentence ends at '.', '!', '?', the other
 *      sentence-final marks of class_of() and at every line break: a story
 *      is "title\nbody" and a title rarely ends with a period.  A dot that
 *      closes an acronym or a single letter ("U.S.", "John F. Kennedy") is
 *      an abbreviation, not a sentence end.  Invalid bytes and NUL separate
 *      like a space: they do not end a sentence.  Each cd_tokenize call
 *      starts a new pair.
 *
 * Scripts written without spaces (Chinese, Japanese, Thai) are not
 * segmented: a run of letters is one token, usually longer than max_len.
 *
 * Speed: bytes below 0x80 are classified by a table and lowercased
 * directly; utf8proc is called only for non-ASCII code points.  A token
 * is built in the tokenizer's scratch buffers, sized from max_len when the
 * tokenizer is created, so tokenizing allocates nothing.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <libstemmer.h>
#include <utf8proc.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "copydesk/tokenizer.h"
#include "text/tokenizer_internal.h"

/* The longest canonical decomposition of one code point (U+1F82), also
 * with case folding; checked over all of Unicode for utf8proc 2.8.  A
 * token of more than DECOMP_MAX * max_len decomposed code points cannot
 * compose back to max_len or fewer. */
#define DECOMP_MAX 4

/* Bytes of UTF-8 per code point, at most. */
#define UTF8_MAX 4

/* ---- character classes ------------------------------------------------ */

enum {
    C_SEP = 0,  /* separates words */
    C_LETTER,   /* starts and continues a word */
    C_DIGIT,    /* a decimal digit: starts and continues a word */
    C_MARK,     /* continues a word, cannot start one */
    C_APOS,     /* ' U+2019: joins letters, see join_apostrophe */
    C_HYPHEN,   /* - U+2010 U+2011: joins word characters */
    C_DOT,      /* .: joins digits and acronyms, otherwise ends a sentence */
    C_COMMA,    /* ,: joins digits */
    C_END,      /* ends a sentence (for bigrams), and separates */
    C_IGNORE,   /* skipped as if absent */
    C_MULTI     /* (byte_class only) a byte >= 0x80: decode to know */
};

#define S_ C_SEP
#define L_ C_LETTER
#define N_ C_DIGIT
#define E_ C_END
#define M_ C_MULTI
#define M16_ M_, M_, M_, M_, M_, M_, M_, M_, M_, M_, M_, M_, M_, M_, M_, M_
/* The class of each byte; one table lookup per ASCII byte. */
static const uint8_t byte_class[256] = {
    /* NUL..SI: \n \v \f \r are line breaks */
    S_, S_, S_, S_, S_, S_, S_, S_, S_, S_, E_, E_, E_, E_, S_, S_,
    /* DLE..US */
    S_, S_, S_, S_, S_, S_, S_, S_, S_, S_, S_, S_, S_, S_, S_, S_,
    /* space ! " # $ % & ' ( ) * + , - . / */
    S_, E_, S_, S_, S_, S_, S_, C_APOS, S_, S_, S_, S_, C_COMMA, C_HYPHEN, C_DOT, S_,
    /* 0..9 : ; < = > ? */
    N_, N_, N_, N_, N_, N_, N_, N_, N_, N_, S_, S_, S_, S_, S_, E_,
    /* @ A..O */
    S_, L_, L_, L_, L_, L_, L_, L_, L_, L_, L_, L_, L_, L_, L_, L_,
    /* P..Z [ \ ] ^ _ */
    L_, L_, L_, L_, L_, L_, L_, L_, L_, L_, L_, S_, S_, S_, S_, S_,
    /* ` a..o */
    S_, L_, L_, L_, L_, L_, L_, L_, L_, L_, L_, L_, L_, L_, L_, L_,
    /* p..z { | } ~ DEL */
    L_, L_, L_, L_, L_, L_, L_, L_, L_, L_, L_, S_, S_, S_, S_, S_,
    /* 0x80..0xFF: lead and continuation bytes of UTF-8, or invalid */
    M16_, M16_, M16_, M16_, M16_, M16_, M16_, M16_,
};
#undef M16_
#undef M_
#undef S_
#undef L_
#undef N_
#undef E_

/* The class of a non-ASCII code point. */
static unsigned class_of(int32_t cp)
{
    switch (cp) {
    case 0x2019:                                   /* right single quote */
        return C_APOS;
    case 0x2010: case 0x2011:                      /* hyphen, non-breaking */
        return C_HYPHEN;
    case 0x0085: case 0x2028: case 0x2029:         /* line breaks */
    case 0x037E: case 0x061F: case 0x06D4:         /* Greek ?, Arabic ? . */
    case 0x0964: case 0x0965:                      /* Devanagari dandas */
    case 0x2026: case 0x203C: case 0x203D:         /* ... !! interrobang */
    case 0x2047: case 0x2048: case 0x2049:         /* ?? ?! !? */
    case 0x3002: case 0xFE52: case 0xFE56: case 0xFE57:
    case 0xFF01: case 0xFF0E: case 0xFF1F: case 0xFF61:
        return C_END;
    }
    switch (utf8proc_category(cp)) {
    case UTF8PROC_CATEGORY_LU: case UTF8PROC_CATEGORY_LL:
    case UTF8PROC_CATEGORY_LT: case UTF8PROC_CATEGORY_LM:
    case UTF8PROC_CATEGORY_LO: case UTF8PROC_CATEGORY_NL:
    case UTF8PROC_CATEGORY_NO:
        return C_LETTER;
    case UTF8PROC_CATEGORY_MN: case UTF8PROC_CATEGORY_MC:
    case UTF8PROC_CATEGORY_ME:
        return C_MARK;
    case UTF8PROC_CATEGORY_ND:
        return C_DIGIT;
    case UTF8PROC_CATEGORY_CF:
        return C_IGNORE;
    default:
        return C_SEP;
    }
}

/* The code point at s[i] (of len bytes), its class and its width in *w.
 * At the end of the text: C_SEP, width 0.  An invalid byte: C_SEP,
 * width 1, so that decoding resumes at the next byte. */
static unsigned decode_at(const uint8_t *s, size_t len, size_t i,
                          int32_t *cp, size_t *w)
{
    /* utf8proc_iterate never reads past the length it is given. */
    size_t room = len - i < UTF8_MAX ? len - i : UTF8_MAX;
    utf8proc_ssize_t n = utf8proc_iterate(s + i, (utf8proc_ssize_t)room, cp);
    if (n <= 0) {
        *cp = -1;
        *w = 1;
        return C_SEP;
    }
    *w = (size_t)n;
    return class_of(*cp);
}

/* Inline so that ASCII costs a table lookup; decode_at does the rest. */
static inline unsigned char_at(const uint8_t *s, size_t len, size_t i,
                               int32_t *cp, size_t *w)
{
    if (i >= len) {
        *cp = -1;
        *w = 0;
        return C_SEP;
    }
    unsigned cls = byte_class[s[i]];
    if (cls == C_MULTI)
        return decode_at(s, len, i, cp, w);
    *cp = s[i];
    *w = 1;
    return cls;
}

static int is_word_char(unsigned cls)
{
    return cls == C_LETTER || cls == C_DIGIT || cls == C_MARK;
}

static int is_digit_cp(int32_t cp)
{
    if (cp < 0x80)
        return cp >= '0' && cp <= '9';
    return utf8proc_category(cp) == UTF8PROC_CATEGORY_ND;
}

/* ---- the tokenizer object --------------------------------------------- */

struct cd_tokenizer {
    cd_tok_opts opts;
    struct sb_stemmer *stemmer;  /* NULL unless opts.stem */
    size_t cap;        /* bytes of word: UTF8_MAX per code point of max_len */
    size_t cp_cap;     /* code points of cps: DECOMP_MAX per code point */
    char *word;        /* the token being built, then its final form */
    char *pair;        /* the previous kept token; "prev token" while a
                          bigram is emitted */
    size_t prev_len;   /* bytes of the previous kept token; 0 when none */
    int32_t *cps;      /* a token with non-ASCII, decomposed and case folded */
    size_t start;      /* byte offset of the token being emitted */
    size_t sentence;   /* sentence ends seen so far in this call */
};

void cd_tok_opts_default(cd_tok_opts *opts)
{
    opts->min_len = 2;
    opts->max_len = 40;
    opts->stopwords = 1;
    opts->bigrams = 0;
    opts->stem = 0;
    opts->fold_numbers = 0;
}

static cd_status check_opts(const cd_tok_opts *o, cd_error *err)
{
    if (o->min_len == 0)
        return cd_error_set(err, CD_ERR_ARG, "tokenizer: min_len must be at least 1");
    if (o->max_len > CD_TOK_MAX_LEN)
        return cd_error_set(err, CD_ERR_ARG, "tokenizer: max_len %u is over the limit %d",
                            (unsigned)o->max_len, CD_TOK_MAX_LEN);
    if (o->min_len > o->max_len)
        return cd_error_set(err, CD_ERR_ARG, "tokenizer: min_len %u is greater than max_len %u",
                            (unsigned)o->min_len, (unsigned)o->max_len);
    return CD_OK;
}

/* One allocation holds every scratch buffer; cps comes first for its
 * alignment. */
static cd_status alloc_scratch(cd_tokenizer *t, cd_error *err)
{
    t->cap = (size_t)t->opts.max_len * UTF8_MAX;
    t->cp_cap = (size_t)t->opts.max_len * DECOMP_MAX;
    size_t bytes = t->cp_cap * sizeof(int32_t) + t->cap + (2 * t->cap + 1);
    t->cps = malloc(bytes);
    if (!t->cps)
        return cd_error_set(err, CD_ERR_NOMEM, "tokenizer: out of memory");
    t->word = (char *)(t->cps + t->cp_cap);
    t->pair = t->word + t->cap;
    return CD_OK;
}

cd_status cd_tokenizer_new(const cd_tok_opts *opts, cd_tokenizer **out, cd_error *err)
{
    cd_tok_opts o;
    if (!out)
        return cd_error_set(err, CD_ERR_ARG, "tokenizer: no place for the result");
    *out = NULL;
    if (opts)
        o = *opts;
    else
        cd_tok_opts_default(&o);
    cd_status st = check_opts(&o, err);
    if (st != CD_OK)
        return st;
    /* Flags are stored as 0 or 1 so that equal settings compare equal
     * (a model file records them). */
    o.stopwords = o.stopwords != 0;
    o.bigrams = o.bigrams != 0;
    o.stem = o.stem != 0;
    o.fold_numbers = o.fold_numbers != 0;

    cd_tokenizer *t = calloc(1, sizeof *t);
    if (!t)
        return cd_error_set(err, CD_ERR_NOMEM, "tokenizer: out of memory");
    t->opts = o;
    st = alloc_scratch(t, err);
    if (st == CD_OK && o.stem) {
        t->stemmer = sb_stemmer_new("english", "UTF_8");
        if (!t->stemmer)
            st = cd_error_set(err, CD_ERR_NOMEM,
                              "tokenizer: cannot create the Snowball English stemmer");
    }
    if (st != CD_OK) {
        cd_tokenizer_free(t);
        return st;
    }
    *out = t;
    return CD_OK;
}

void cd_tokenizer_free(cd_tokenizer *tok)
{
    if (!tok)
        return;
    if (tok->stemmer)
        sb_stemmer_delete(tok->stemmer);
    free(tok->cps);
    free(tok);
}

size_t cd_tokenizer_token_offset(const cd_tokenizer *tok)
{
    return tok->start;
}

size_t cd_tokenizer_sentence(const cd_tokenizer *tok)
{
    return tok->sentence;
}

void cdi_tokenizer_cursor(const cd_tokenizer *tok, const size_t **start,
                          const size_t **sentence)
{
    *start = &tok->start;
    *sentence = &tok->sentence;
}

const cd_tok_opts *cd_tokenizer_opts(const cd_tokenizer *tok)
{
    return &tok->opts;
}

/* ---- building one token ----------------------------------------------- */

/* The state of the token being scanned.  It is written as lowercase ASCII
 * bytes to tok->word until the first non-ASCII code point; from then on
 * as case-folded, decomposed code points to tok->cps ("unicode" mode),
 * composed and encoded when the token ends. */
typedef struct build {
    size_t nb;         /* bytes in tok->word (ASCII mode) */
    size_t ncp;        /* code points in tok->cps (unicode mode) */
    uint32_t seg;      /* letters since the start or the last acronym dot,
                          capped at 2: only 0, 1 and "more" matter */
    uint8_t unicode;   /* a non-ASCII code point was seen */
    uint8_t overflow;  /* over max_len: scanned to its end, then dropped */
    uint8_t digits;    /* contains a decimal digit */
    uint8_t acronym;   /* so far single letters joined by dots */
    uint8_t dotted;    /* an acronym with at least one dot */
    uint8_t last;      /* class of the last letter or digit taken */
} build;

/* Switch to unicode mode: the ASCII bytes so far become code points.
 * nb <= max_len <= cp_cap, so they fit. */
static void to_unicode(cd_tokenizer *tok, build *b)
{
    for (size_t k = 0; k < b->nb; k++)
        tok->cps[k] = (uint8_t)tok->word[k];
    b->ncp = b->nb;
    b->unicode = 1;
}

/* Append an ASCII byte, already lowercase. */
static void put_ascii(cd_tokenizer *tok, build *b, uint8_t c)
{
    if (b->overflow)
        return;
    if (!b->unicode) {
        /* ASCII characters never compose with each other, so more than
         * max_len of them is already too long. */
        if (b->nb < tok->opts.max_len)
            tok->word[b->nb++] = (char)c;
        else
            b->overflow = 1;
    } else if (b->ncp < tok->cp_cap) {
        tok->cps[b->ncp++] = c;
    } else {
        b->overflow = 1;
    }
}

/* Append a non-ASCII code point, case folded and decomposed. */
static void put_unicode(cd_tokenizer *tok, build *b, int32_t cp)
{
    if (b->overflow)
        return;
    if (!b->unicode)
        to_unicode(tok, b);
    utf8proc_ssize_t room = (utf8proc_ssize_t)(tok->cp_cap - b->ncp);
    utf8proc_ssize_t n = utf8proc_decompose_char(cp, tok->cps + b->ncp, room,
                                                 UTF8PROC_CASEFOLD | UTF8PROC_DECOMPOSE, NULL);
    if (n < 0 || n > room)
        b->overflow = 1;
    else
        b->ncp += (size_t)n;
}

/* How many letters the letter cp is once case folded: "ß" is "ss", two;
 * "É" is "é", one.  Acronyms count folded letters, so that a token is
 * read back as itself ("S.ß" is not the acronym "s.ss"). */
static unsigned folded_letters(int32_t cp)
{
    int32_t buf[8];
    if (cp < 0x80)
        return 1;
    utf8proc_ssize_t n = utf8proc_decompose_char(cp, buf, 8, UTF8PROC_CASEFOLD, NULL);
    if (n < 0 || n > 8)
        return 2;
    unsigned letters = 0;
    for (utf8proc_ssize_t k = 0; k < n; k++)
        letters += class_of(buf[k]) != C_MARK;
    return letters;
}

static void add_letters(build *b, size_t n)
{
    b->seg = b->seg + n >= 2 ? 2 : (uint32_t)(b->seg + n);
}

/* U+0345 COMBINING GREEK YPOGEGRAMMENI is a mark that case folds to a
 * letter, iota; it is the only one (the unit tests check this against
 * the utf8proc in use).  The rules treat it as the letter it becomes, so
 * that a token read again gives itself. */
#define YPOGEGRAMMENI 0x0345

/* Append a word character of class cls. */
static void put_char(cd_tokenizer *tok, build *b, int32_t cp, unsigned cls)
{
    if (cp < 0x80)
        put_ascii(tok, b, (uint8_t)(cls == C_LETTER ? (cp | 0x20) : cp));
    else
        put_unicode(tok, b, cp);
    if (cp == YPOGEGRAMMENI)
        cls = C_LETTER;
    if (cls == C_LETTER) {
        /* folding matters only while the token can still be an acronym */
        add_letters(b, b->acronym ? folded_letters(cp) : 1);
        b->last = C_LETTER;
    } else if (cls == C_DIGIT) {
        b->digits = 1;
        b->acronym = 0;
        b->last = C_DIGIT;
    }
    /* A mark leaves last alone: it belongs to the letter or digit before. */
}

/* Whether the letter at s[i] stands alone: after it and its marks comes
 * no letter or digit.  The test that makes "U.S." an acronym and keeps
 * "A.Smith" apart. */
static int lone_letter_at(const uint8_t *s, size_t len, size_t i)
{
    int32_t cp;
    size_t w;
    if (char_at(s, len, i, &cp, &w) != C_LETTER || folded_letters(cp) != 1)
        return 0;
    for (i += w;; i += w) {
        unsigned cls = char_at(s, len, i, &cp, &w);
        if (cp == YPOGEGRAMMENI)
            return 0;
        if (cls != C_MARK && cls != C_IGNORE)
            return cls != C_LETTER && cls != C_DIGIT;
    }
}

/* The joiners.  Each is at s[*i], w bytes wide, inside a word.  It either
 * joins (returns 1, *i moved past it) or ends the word (returns 0; *i is
 * moved past what belongs to no token, else left on the joiner so that
 * the main loop sees it). */

static int join_apostrophe(build *b, const uint8_t *s, size_t len, size_t *i, size_t w)
{
    int32_t cp, cp2;
    size_t nw, w2;
    if (b->last != C_LETTER || char_at(s, len, *i + w, &cp, &nw) != C_LETTER)
        return 0;
    if ((cp == 's' || cp == 'S') && !is_word_char(char_at(s, len, *i + w + nw, &cp2, &w2))) {
        *i += w + nw;  /* possessive 's: dropped */
        return 0;
    }
    /* "U.S'x" joined would read "u.sx", which is no acronym: separate. */
    if (b->dotted)
        return 0;
    b->acronym = 0;
    *i += w;           /* inner apostrophe: removed */
    return 1;
}

static int join_hyphen(cd_tokenizer *tok, build *b, const uint8_t *s, size_t len,
                       size_t *i, size_t w)
{
    int32_t cp;
    size_t nw;
    unsigned next = char_at(s, len, *i + w, &cp, &nw);
    if (next != C_LETTER && next != C_DIGIT)
        return 0;
    put_ascii(tok, b, '-');  /* U+2010 and U+2011 too: one spelling */
    b->acronym = 0;
    *i += w;
    return 1;
}

static int join_comma(cd_tokenizer *tok, build *b, const uint8_t *s, size_t len,
                      size_t *i, size_t w)
{
    int32_t cp;
    size_t nw;
    if (b->last != C_DIGIT || char_at(s, len, *i + w, &cp, &nw) != C_DIGIT)
        return 0;
    put_ascii(tok, b, ',');
    *i += w;
    return 1;
}

/* A dot that closes an acronym or a single letter is taken with the word
 * (an abbreviation, not a sentence end). */
static int join_dot(cd_tokenizer *tok, build *b, const uint8_t *s, size_t len,
                    size_t *i, size_t w)
{
    int32_t cp;
    size_t nw;
    if (b->last == C_DIGIT && char_at(s, len, *i + w, &cp, &nw) == C_DIGIT) {
        put_ascii(tok, b, '.');
        *i += w;
        return 1;
    }
    if (!b->acronym || b->seg != 1)
        return 0;
    *i += w;
    if (lone_letter_at(s, len, *i)) {
        put_ascii(tok, b, '.');
        b->seg = 0;
        b->dotted = 1;
        return 1;
    }
    return 0;
}

/* The fast path: a run of ASCII letters at s[i], in ASCII mode, is
 * lowercased into the word as it is scanned.  Returns the end of the run. */
static size_t take_ascii_letters(cd_tokenizer *tok, build *b, const uint8_t *s,
                                 size_t len, size_t i)
{
    size_t start = i;
    if (!b->overflow) {
        /* Copy up to one byte more than fits (word has room for it), so a
         * run that stops at the limit is told from one that goes on. */
        size_t room = tok->opts.max_len - b->nb;
        size_t stop = len - i > room ? i + room + 1 : len;
        char *out = tok->word + b->nb;
        while (i < stop && byte_class[s[i]] == C_LETTER) {
            out[i - start] = (char)(s[i] | 0x20);
            i++;
        }
        b->nb += i - start;
        if (b->nb > tok->opts.max_len)
            b->overflow = 1;
    }
    while (i < len && byte_class[s[i]] == C_LETTER)
        i++;
    if (i > start) {
        add_letters(b, i - start);
        b->last = C_LETTER;
    }
    return i;
}

/* Scan the word starting at s[i] (a letter or digit) into *b.  Returns
 * where scanning goes on. */
static size_t scan_word(cd_tokenizer *tok, build *b, const uint8_t *s, size_t len,
                        size_t i)
{
    memset(b, 0, sizeof *b);
    b->acronym = 1;
    for (;;) {
        if (!b->unicode)
            i = take_ascii_letters(tok, b, s, len, i);
        int32_t cp;
        size_t w;
        unsigned cls = char_at(s, len, i, &cp, &w);
        int r;
        switch (cls) {
        case C_LETTER: case C_DIGIT: case C_MARK:
            put_char(tok, b, cp, cls);
            i += w;
            continue;
        case C_IGNORE:
            i += w;
            continue;
        case C_APOS:
            r = join_apostrophe(b, s, len, &i, w);
            break;
        case C_HYPHEN:
            r = join_hyphen(tok, b, s, len, &i, w);
            break;
        case C_COMMA:
            r = join_comma(tok, b, s, len, &i, w);
            break;
        case C_DOT:
            r = join_dot(tok, b, s, len, &i, w);
            break;
        default:
            r = 0;
            break;
        }
        if (!r)
            return i;
    }
}

/* Put combining marks in canonical order (by combining class, stably),
 * which NFC requires and utf8proc_decompose_char alone does not do. */
static void canonical_order(int32_t *cps, size_t n)
{
    for (size_t k = 1; k < n; k++) {
        int32_t c = cps[k];
        int cc = utf8proc_get_property(c)->combining_class;
        if (cc == 0)
            continue;
        size_t j = k;
        while (j > 0 && utf8proc_get_property(cps[j - 1])->combining_class > cc) {
            cps[j] = cps[j - 1];
            j--;
        }
        cps[j] = c;
    }
}

/* Compose a unicode-mode token to NFC and encode it into tok->word.
 * Returns its length in code points, or 0 when it cannot be kept. */
static size_t compose(cd_tokenizer *tok, build *b)
{
    canonical_order(tok->cps, b->ncp);
    utf8proc_ssize_t n = utf8proc_normalize_utf32(tok->cps, (utf8proc_ssize_t)b->ncp,
                                                  UTF8PROC_COMPOSE);
    if (n <= 0 || (size_t)n > tok->opts.max_len)
        return 0;
    size_t nb = 0;
    for (utf8proc_ssize_t k = 0; k < n; k++)
        nb += (size_t)utf8proc_encode_char(tok->cps[k], (utf8proc_uint8_t *)tok->word + nb);
    b->nb = nb;
    return (size_t)n;
}

/* Replace each run of decimal digits in s by one '0', in place. */
static size_t fold_digits(char *s, size_t n)
{
    size_t r = 0, w = 0;
    int in_run = 0;
    while (r < n) {
        int32_t cp = (uint8_t)s[r];
        size_t cw = 1;
        if (cp >= 0x80)  /* valid: the tokenizer encoded it */
            cw = (size_t)utf8proc_iterate((const uint8_t *)s + r, (utf8proc_ssize_t)(n - r), &cp);
        if (is_digit_cp(cp)) {
            if (!in_run)
                s[w++] = '0';
            in_run = 1;
        } else {
            memmove(s + w, s + r, cw);
            w += cw;
            in_run = 0;
        }
        r += cw;
    }
    return w;
}

/* ---- emitting ----------------------------------------------------------- */

typedef struct emitter {
    cd_tokenizer *tok;
    cd_token_fn fn;
    void *ud;
    size_t count;
    int stop;
} emitter;

static void emit(emitter *e, const char *p, size_t n)
{
    e->count++;
    if (e->fn && e->fn(p, n, e->ud) != 0)
        e->stop = 1;
}

/* Emit a kept token, then the bigram it closes. */
static void emit_kept(emitter *e, const char *p, size_t n)
{
    cd_tokenizer *tok = e->tok;
    emit(e, p, n);
    if (!tok->opts.bigrams || e->stop)
        return;
    if (tok->prev_len > 0) {
        tok->pair[tok->prev_len] = ' ';
        memcpy(tok->pair + tok->prev_len + 1, p, n);
        emit(e, tok->pair, tok->prev_len + 1 + n);
    }
    memcpy(tok->pair, p, n);
    tok->prev_len = n;
}

/* Stem tok->word; *p, *n are left alone when the stemmer fails (out of
 * memory) or returns something that would not fit the bigram buffer. */
static void stem(cd_tokenizer *tok, const char **p, size_t *n)
{
    const sb_symbol *r = sb_stemmer_stem(tok->stemmer, (const sb_symbol *)tok->word, (int)*n);
    if (!r)
        return;
    int rn = sb_stemmer_length(tok->stemmer);
    if (rn <= 0 || (size_t)rn > tok->cap)
        return;
    *p = (const char *)r;
    *n = (size_t)rn;
}

/* Apply the per-token rules (length, stop words, numbers, stemming) to a
 * scanned word and emit it if it is kept. */
static void finish_word(emitter *e, build *b)
{
    cd_tokenizer *tok = e->tok;
    if (b->overflow)
        return;
    size_t ncp = b->unicode ? compose(tok, b) : b->nb;
    if (ncp < tok->opts.min_len || ncp > tok->opts.max_len)
        return;
    size_t n = b->nb;
    if (tok->opts.stopwords && cd_is_stopword(tok->word, n))
        return;
    if (tok->opts.fold_numbers && b->digits)
        n = fold_digits(tok->word, n);
    const char *p = tok->word;
    if (tok->stemmer && !b->digits)
        stem(tok, &p, &n);
    emit_kept(e, p, n);
}

/* finish_word for a word of n ASCII letters in tok->word (no digits, no
 * joiners, not over max_len): the same rules in the same order. */
static void finish_letters(emitter *e, size_t n)
{
    cd_tokenizer *tok = e->tok;
    if (n < tok->opts.min_len)
        return;
    if (tok->opts.stopwords && cd_is_stopword(tok->word, n))
        return;
    const char *p = tok->word;
    if (tok->stemmer)
        stem(tok, &p, &n);
    emit_kept(e, p, n);
}

size_t cd_tokenize(cd_tokenizer *tok, const char *text, size_t len,
                   cd_token_fn fn, void *ud)
{
    if (!tok || !text)
        return 0;
    const uint8_t *s = (const uint8_t *)text;
    emitter e = { tok, fn, ud, 0, 0 };
    build b;
    size_t i = 0;
    tok->prev_len = 0;
    tok->sentence = 0;
    /* no stop words, stemming or bigrams: a word of letters is emitted as
     * it is (classify: the lexicon answers stop words) */
    int plain = !tok->opts.stopwords && !tok->stemmer && !tok->opts.bigrams;
    while (i < len && !e.stop) {
        if (byte_class[s[i]] == C_SEP) {  /* the fast path: ASCII separators */
            i++;
            continue;
        }
        if (byte_class[s[i]] == C_LETTER) {
            /* The fast path of words: ASCII letters that a separator, a
             * sentence end or a comma follows ("market", "Tokyo,"), or a
             * period after two letters or more ("said."; one letter may
             * be an acronym, "U.S.").  No joiner can apply (a comma or a
             * period joins only digits, and dots single letters), so the
             * word is its letters lowercased, and the main loop then reads
             * the comma or period as the general path would.  Anything
             * else (a digit, ' or -, non-ASCII next, a word too long)
             * takes the general path from the same place. */
            size_t j = i, cap = tok->cap;
            char *w = tok->word;
#ifdef __SSE2__
            /* sixteen bytes at a time: the run of ASCII letters (a byte of
             * 0x80 or more is negative, never in 'a'..'z'), lowercased */
            while (j + 16 <= len && j - i + 16 <= cap) {
                __m128i v = _mm_loadu_si128((const __m128i *)(s + j));
                __m128i low = _mm_or_si128(v, _mm_set1_epi8(0x20));
                __m128i is = _mm_and_si128(_mm_cmpgt_epi8(low, _mm_set1_epi8('a' - 1)),
                                           _mm_cmplt_epi8(low, _mm_set1_epi8('z' + 1)));
                _mm_storeu_si128((__m128i *)(w + (j - i)),
                                 _mm_or_si128(v, _mm_and_si128(is, _mm_set1_epi8(0x20))));
                unsigned run = (unsigned)__builtin_ctz(~(unsigned)_mm_movemask_epi8(is));
                j += run;
                if (run < 16)
                    goto scanned;   /* s[j] is no letter: the loop below would stop there */
            }
#endif
            while (j < len && byte_class[s[j]] == C_LETTER) {
                if (j - i < cap)   /* lowercased as it is scanned */
                    w[j - i] = (char)(s[j] | 0x20);
                j++;
            }
#ifdef __SSE2__
        scanned:;
#endif
            unsigned next = j < len ? byte_class[s[j]] : C_SEP;
            int ends = next == C_SEP || next == C_END || next == C_COMMA ||
                       (next == C_DOT && j - i >= 2);
            if (ends && j - i <= tok->opts.max_len) {
                tok->start = i;
                if (plain) {   /* finish_letters with nothing to apply */
                    if (j - i >= tok->opts.min_len) {
                        e.count++;
                        if (fn && fn(w, j - i, ud) != 0)
                            e.stop = 1;
                    }
                } else {
                    finish_letters(&e, j - i);
                }
                /* an ASCII separator next (mostly a space) is skipped here,
                 * as the main loop would skip it */
                i = next == C_SEP && j < len ? j + 1 : j;
                continue;
            }
        }
        int32_t cp;
        size_t w;
        unsigned cls = char_at(s, len, i, &cp, &w);
        if (cls == C_LETTER || cls == C_DIGIT) {
            tok->start = i;
            i = scan_word(tok, &b, s, len, i);
            finish_word(&e, &b);
            continue;
        }
        if (cls == C_DOT || cls == C_END) {
            tok->prev_len = 0;  /* a sentence ends: no bigram across it */
            tok->sentence++;
        }
        i += w;
    }
    return e.count;
}
