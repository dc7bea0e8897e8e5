/*
 * stopwords.c - the English stop-word list and cd_is_stopword.
 *
 * The list is the Snowball project's English stop-word list (function
 * words: pronouns, auxiliaries, articles, prepositions, conjunctions).
 * Its contractions are written the way core/text/tokenizer.c folds them: the
 * tokenizer removes inner apostrophes and drops a possessive 's, so
 * "don't" arrives here as "dont" and "he's" as "he".  Contractions whose
 * folded form is an ordinary English word are left out, because dropping
 * that word would be wrong far more often than right:
 *     can't -> cant, won't -> wont, we'll -> well, he'll -> hell,
 *     she'll -> shell, i'll -> ill, i'd -> id, she'd -> shed, we'd -> wed.
 *
 * Lookup: a small open-addressing hash table, built once on first use
 * (C11 call_once), keyed by a word's length, first and last bytes.  Most
 * words that are not stop words land on an empty slot or on one whose
 * key differs, and are turned away without comparing strings; the
 * tokenizer asks once per token, and a sorted-array bsearch cost a fifth
 * of its time.
 *
 * Keep each group below sorted (byte order) when editing: the unit tests
 * look up every word, and the sort makes the list easy to check by eye.
 */
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <threads.h>

#include "copydesk/tokenizer.h"

static const char *const len1[] = { "a", "i" };

static const char *const len2[] = {
    "am", "an", "as", "at", "be", "by", "do", "he", "if", "im", "in", "is",
    "it", "me", "my", "no", "of", "on", "or", "so", "to", "up", "we",
};

static const char *const len3[] = {
    "all", "and", "any", "are", "but", "did", "few", "for", "had", "has",
    "hed", "her", "him", "his", "how", "its", "ive", "nor", "not", "off",
    "our", "out", "own", "she", "the", "too", "was", "who", "why", "you",
};

static const char *const len4[] = {
    "been", "both", "does", "dont", "down", "each", "from", "have", "here",
    "hers", "into", "isnt", "more", "most", "once", "only", "ours", "over",
    "same", "some", "such", "than", "that", "them", "then", "they", "this",
    "very", "were", "weve", "what", "when", "whom", "with", "youd", "your",
};

static const char *const len5[] = {
    "about", "above", "after", "again", "arent", "being", "below", "could",
    "didnt", "doing", "hadnt", "hasnt", "other", "ought", "shant", "their",
    "there", "these", "theyd", "those", "under", "until", "wasnt", "where",
    "which", "while", "would", "youll", "youre", "yours", "youve",
};

static const char *const len6[] = {
    "before", "cannot", "doesnt", "during", "havent", "having", "itself",
    "mustnt", "myself", "should", "theirs", "theyll", "theyre", "theyve",
    "werent",
};

static const char *const len7[] = {
    "against", "because", "between", "couldnt", "further", "herself",
    "himself", "through", "wouldnt",
};

static const char *const len8[] = { "shouldnt", "yourself" };

static const char *const len9[] = { "ourselves" };

static const char *const len10[] = { "themselves", "yourselves" };

#define GROUP(a) { (a), sizeof(a) / sizeof((a)[0]) }

static const struct {
    const char *const *words;
    size_t n;
} groups[] = {
    GROUP(len1), GROUP(len2), GROUP(len3), GROUP(len4), GROUP(len5),
    GROUP(len6), GROUP(len7), GROUP(len8), GROUP(len9), GROUP(len10),
};

#define NGROUPS (sizeof groups / sizeof groups[0])
#define LONGEST 10  /* bytes of the longest word; groups[i] has length i + 1 */

/* A slot: the word and its key; len 0 marks an empty slot. */
typedef struct slot {
    const char *word;
    uint8_t len, first, last;
} slot;

/* 151 words in 512 slots: a miss looks at one or two slots. */
#define SLOTS 512
#define SLOT_BITS 9

static slot table[SLOTS];
static once_flag table_once = ONCE_FLAG_INIT;
/* Set (release) once the table is built, so that a lookup costs one load
 * instead of a call to call_once. */
static atomic_int table_ready;

static size_t slot_of(size_t len, uint8_t first, uint8_t last)
{
    uint32_t h = (uint32_t)len << 16 | (uint32_t)first << 8 | last;
    h ^= h >> 15;  /* the finalizer of MurmurHash3: every key bit counts */
    h *= 0x85EBCA6Bu;
    h ^= h >> 13;
    return (size_t)(h & (SLOTS - 1));
}

static void build_table(void)
{
    for (size_t g = 0; g < NGROUPS; g++)
        for (size_t k = 0; k < groups[g].n; k++) {
            const char *w = groups[g].words[k];
            size_t len = g + 1;
            slot e = { w, (uint8_t)len, (uint8_t)w[0], (uint8_t)w[len - 1] };
            size_t i = slot_of(len, e.first, e.last);
            while (table[i].len != 0)
                i = (i + 1) & (SLOTS - 1);
            table[i] = e;
        }
    atomic_store_explicit(&table_ready, 1, memory_order_release);
}

/* Out of line: it runs once, and keeps the lookup free of calls. */
static void build_table_once(void)
{
    call_once(&table_once, build_table);
}

/* A byte loop: the words are at most 10 bytes, shorter than a call. */
static int same_bytes(const char *a, const char *b, size_t n)
{
    for (size_t k = 0; k < n; k++)
        if (a[k] != b[k])
            return 0;
    return 1;
}

int cd_is_stopword(const char *word, size_t len)
{
    if (!word || len == 0 || len > LONGEST)
        return 0;
    if (!atomic_load_explicit(&table_ready, memory_order_acquire)) {
        build_table_once();
        /* call_once already orders the table before us; this load says so
         * to ThreadSanitizer too, which does not see inside glibc's
         * call_once (copydesk classify --threads) */
        (void)atomic_load_explicit(&table_ready, memory_order_acquire);
    }
    uint8_t first = (uint8_t)word[0], last = (uint8_t)word[len - 1];
    for (size_t i = slot_of(len, first, last);; i = (i + 1) & (SLOTS - 1)) {
        const slot *e = &table[i];
        if (e->len == 0)
            return 0;
        if (e->len == len && e->first == first && e->last == last &&
            same_bytes(e->word, word, len))
            return 1;
    }
}

void cd_stopwords_each(void (*fn)(const char *word, size_t len, void *ud), void *ud)
{
    for (size_t g = 0; g < NGROUPS; g++)
        for (size_t k = 0; k < groups[g].n; k++)
            fn(groups[g].words[k], g + 1, ud);
}
