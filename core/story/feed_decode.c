/*
 * feed_decode.c - an XML feed's bytes as the UTF-8 document libxml2 parses
 * (see feed.h, cdi_feed_decode).
 *
 * The encoding, first found wins:
 *   1. a byte order mark (UTF-8, UTF-16 LE/BE, UTF-32 LE/BE);
 *   2. the layout of the first four bytes, for UTF-16 and UTF-32 without a
 *      mark ('<' followed or preceded by zero bytes);
 *   3. the charset of the HTTP Content-Type;
 *   4. the encoding of the XML declaration;
 *   5. UTF-8.
 * A label is read as the WHATWG Encoding Standard reads it: ISO-8859-1,
 * US-ASCII and their aliases are windows-1252, ISO-8859-9 windows-1254,
 * GB2312 and GBK are GB18030, EUC-KR is windows-949, Shift_JIS windows-31J,
 * Big5 Big5-HKSCS; "utf-16" declared in a document that is not laid out as
 * UTF-16 is UTF-8.  iconv (glibc) decodes; a label it does not know is read
 * as UTF-8.  A byte (or UTF-16/32 unit) invalid in the encoding becomes
 * U+FFFD and decoding goes on.
 *
 * Then, on the UTF-8 text, repairs that let a feed written by hand or by a
 * broken generator be read (the first one is reported with its line; line
 * numbers are kept: a repair never adds or drops a newline):
 *   - the XML declaration is dropped (the text is UTF-8 now);
 *   - a DOCTYPE is dropped with its internal subset: entity declarations
 *     are never read, so never expanded, and nothing external is loaded;
 *   - &name; for an entity of HTML (&nbsp;, &eacute;) becomes the numeric
 *     reference of its character; any other undefined &name; and a '&'
 *     that starts no reference become text ("&amp;");
 *   - numeric references to 128..159 are windows-1252 (&#146; is U+2019),
 *     references to characters XML forbids are U+FFFD;
 *   - a '<' that opens no tag, comment, CDATA section or processing
 *     instruction is text ("&lt;"), and so is one inside an attribute;
 *   - control characters XML forbids (and U+FFFE, U+FFFF) become a space or
 *     U+FFFD; invalid UTF-8 becomes U+FFFD.
 * Comments, CDATA sections and processing instructions pass untouched.
 */
#include <errno.h>
#include <iconv.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libxml/HTMLparser.h>

#include "base/ascii.h"
#include "base/buf.h"
#include "base/utf8.h"

#include "story/feed.h"

/* ASCII classes, whatever the locale. */
static int is_digit(unsigned char c) { return c >= '0' && c <= '9'; }
static int is_alpha(unsigned char c) { return (c | 0x20) >= 'a' && (c | 0x20) <= 'z'; }
static int is_alnum(unsigned char c) { return is_digit(c) || is_alpha(c); }
static int is_xdigit(unsigned char c) { return is_digit(c) || ((c | 0x20) >= 'a' && (c | 0x20) <= 'f'); }
static int hex_value(unsigned char c) { return is_digit(c) ? c - '0' : (c | 0x20) - 'a' + 10; }

static void put(cd_buf *b, const char *s, size_t n)
{
    cdi_buf_put(b, s, n);
}

static void puts_(cd_buf *b, const char *s)
{
    cdi_buf_puts(b, s);
}

static size_t utf8_put(unsigned long c, char *o)
{
    if (c < 0x80) { o[0] = (char)c; return 1; }
    if (c < 0x800) { o[0] = (char)(0xC0 | c >> 6); o[1] = (char)(0x80 | (c & 0x3F)); return 2; }
    if (c < 0x10000) {
        o[0] = (char)(0xE0 | c >> 12); o[1] = (char)(0x80 | ((c >> 6) & 0x3F));
        o[2] = (char)(0x80 | (c & 0x3F));
        return 3;
    }
    o[0] = (char)(0xF0 | c >> 18); o[1] = (char)(0x80 | ((c >> 12) & 0x3F));
    o[2] = (char)(0x80 | ((c >> 6) & 0x3F)); o[3] = (char)(0x80 | (c & 0x3F));
    return 4;
}

#define REPLACEMENT "\xEF\xBF\xBD"

/* ---- which encoding ------------------------------------------------------- */

typedef enum { E_LABEL, E_UTF8, E_UTF16LE, E_UTF16BE, E_UTF32LE, E_UTF32BE } enc_kind;

static int starts(const char *p, size_t n, const char *s, size_t k)
{
    return n >= k && !memcmp(p, s, k);
}

/* The encoding of a byte order mark or of the layout of '<'; *skip gets
 * the mark's length.  E_LABEL when neither says. */
static enc_kind sniff(const unsigned char *p, size_t n, size_t *skip)
{
    *skip = 0;
    if (starts((const char *)p, n, "\xEF\xBB\xBF", 3)) { *skip = 3; return E_UTF8; }
    if (starts((const char *)p, n, "\xFF\xFE\0\0", 4)) { *skip = 4; return E_UTF32LE; }
    if (starts((const char *)p, n, "\0\0\xFE\xFF", 4)) { *skip = 4; return E_UTF32BE; }
    if (starts((const char *)p, n, "\xFF\xFE", 2)) { *skip = 2; return E_UTF16LE; }
    if (starts((const char *)p, n, "\xFE\xFF", 2)) { *skip = 2; return E_UTF16BE; }
    if (n >= 4) {
        if (p[0] && !p[1] && !p[2] && !p[3]) return E_UTF32LE;
        if (!p[0] && !p[1] && !p[2] && p[3]) return E_UTF32BE;
        if (p[0] && !p[1] && p[2] && !p[3]) return E_UTF16LE;
        if (!p[0] && p[1] && !p[2] && p[3]) return E_UTF16BE;
    }
    return E_LABEL;
}

/* The charset parameter of a Content-Type into out ("" when none). */
static void http_charset(const char *ct, char *out, size_t cap)
{
    out[0] = '\0';
    if (!ct)
        return;
    for (const char *p = ct; (p = strchr(p, ';')) != NULL; ) {
        p++;
        while (*p == ' ' || *p == '\t')
            p++;
        if (strncasecmp(p, "charset", 7))
            continue;
        p += 7;
        while (*p == ' ' || *p == '\t')
            p++;
        if (*p != '=')
            continue;
        p++;
        while (*p == ' ' || *p == '\t')
            p++;
        char q = (*p == '"' || *p == '\'') ? *p++ : 0;
        size_t n = 0;
        while (p[n] && n + 1 < cap && (q ? p[n] != q : (p[n] != ';' && p[n] != ' ' && p[n] != '\t')))
            n++;
        memcpy(out, p, n);
        out[n] = '\0';
        return;
    }
}

/* The encoding of an XML declaration at the start of p into out. */
static void xml_decl_encoding(const char *p, size_t n, char *out, size_t cap)
{
    out[0] = '\0';
    size_t i = 0;
    while (i < n && cdi_is_space((unsigned char)p[i]))
        i++;
    if (!starts(p + i, n - i, "<?xml", 5))
        return;
    const char *end = memchr(p + i, '>', n - i);
    size_t lim = end ? (size_t)(end - p) : (n - i > 512 ? i + 512 : n);
    for (size_t j = i + 5; j + 8 < lim; j++) {
        if (strncmp(p + j, "encoding", 8))
            continue;
        j += 8;
        while (j < lim && cdi_is_space((unsigned char)p[j]))
            j++;
        if (j >= lim || p[j] != '=')
            return;
        j++;
        while (j < lim && cdi_is_space((unsigned char)p[j]))
            j++;
        if (j >= lim || (p[j] != '"' && p[j] != '\''))
            return;
        char q = p[j++];
        size_t k = 0;
        while (j + k < lim && p[j + k] != q && k + 1 < cap)
            k++;
        memcpy(out, p + j, k);
        out[k] = '\0';
        return;
    }
}

/* The iconv name of an encoding label, the WHATWG way.  NULL for UTF-8. */
static const char *iconv_name(const char *label, int *cp1252)
{
    static const struct { const char *label, *name; } map[] = {
        { "iso-8859-1", "WINDOWS-1252" }, { "iso8859-1", "WINDOWS-1252" },
        { "iso88591", "WINDOWS-1252" }, { "iso_8859-1", "WINDOWS-1252" },
        { "iso_8859-1:1987", "WINDOWS-1252" }, { "latin1", "WINDOWS-1252" },
        { "l1", "WINDOWS-1252" }, { "us-ascii", "WINDOWS-1252" }, { "ascii", "WINDOWS-1252" },
        { "ansi_x3.4-1968", "WINDOWS-1252" }, { "cp819", "WINDOWS-1252" },
        { "ibm819", "WINDOWS-1252" }, { "iso-ir-100", "WINDOWS-1252" },
        { "csisolatin1", "WINDOWS-1252" }, { "x-cp1252", "WINDOWS-1252" },
        { "cp1252", "WINDOWS-1252" }, { "windows-1252", "WINDOWS-1252" },
        { "iso-8859-9", "WINDOWS-1254" }, { "iso8859-9", "WINDOWS-1254" },
        { "latin5", "WINDOWS-1254" }, { "iso-8859-11", "WINDOWS-874" },
        { "tis-620", "WINDOWS-874" }, { "gb2312", "GB18030" }, { "gbk", "GB18030" },
        { "x-gbk", "GB18030" }, { "chinese", "GB18030" }, { "csgb2312", "GB18030" },
        { "euc-kr", "CP949" }, { "ks_c_5601-1987", "CP949" }, { "korean", "CP949" },
        { "windows-949", "CP949" }, { "shift_jis", "CP932" }, { "sjis", "CP932" },
        { "ms_kanji", "CP932" }, { "x-sjis", "CP932" }, { "windows-31j", "CP932" },
        { "big5", "BIG5-HKSCS" }, { "big5-hkscs", "BIG5-HKSCS" }, { "x-x-big5", "BIG5-HKSCS" },
    };
    *cp1252 = 0;
    if (!strcasecmp(label, "utf-8") || !strcasecmp(label, "utf8") ||
        !strcasecmp(label, "unicode-1-1-utf-8") || !strncasecmp(label, "utf-16", 6) ||
        !strncasecmp(label, "utf-32", 6) || !strcasecmp(label, "ucs-2") ||
        !strcasecmp(label, "unicode") || !strcasecmp(label, "iso-10646-ucs-2"))
        return NULL;   /* UTF-16/32 by label only, without their layout: not so */
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (!strcasecmp(label, map[i].label)) {
            *cp1252 = !strcmp(map[i].name, "WINDOWS-1252");
            return map[i].name;
        }
    return label;
}

/* ---- decoding ------------------------------------------------------------------ */

/* Bytes at p (n of them) from encoding `from` (unit: bytes per code unit,
 * for what an invalid one skips) to UTF-8 in out.  -1 when iconv does not
 * know the encoding. */
static int convert(const char *from, size_t unit, int cp1252, const char *p, size_t n, cd_buf *out,
                   size_t *bad)
{
    iconv_t cd = iconv_open("UTF-8", from);
    if (cd == (iconv_t)-1)
        return -1;
    char tmp[8192];
    char *in = (char *)p;
    size_t left = n;
    while (left > 0 && !out->failed) {
        char *o = tmp;
        size_t room = sizeof tmp;
        size_t rc = iconv(cd, &in, &left, &o, &room);
        put(out, tmp, (size_t)(o - tmp));
        if (rc != (size_t)-1 || errno == E2BIG)
            continue;
        if (left == 0) {   /* an error with all input taken (some encodings): a last bad unit */
            puts_(out, REPLACEMENT);
            (*bad)++;
            break;
        }
        unsigned char c = (unsigned char)*in;
        if (errno == EILSEQ && cp1252 && unit == 1 &&
            (c == 0x81 || c == 0x8D || c == 0x8F || c == 0x90 || c == 0x9D)) {
            char b[2];   /* unassigned in windows-1252: the C1 control, as WHATWG says */
            put(out, b, utf8_put(c, b));
        } else {
            puts_(out, REPLACEMENT);
            (*bad)++;
        }
        size_t skip = unit < left ? unit : left;
        in += skip;
        left -= skip;
        iconv(cd, NULL, NULL, NULL, NULL);   /* back to the initial state */
    }
    iconv_close(cd);
    return 0;
}

/* ---- repairs ---------------------------------------------------------------------- */

typedef struct repair {
    cd_buf out;
    unsigned long line;
    char *first;       /* the first repair's description */
    size_t first_cap;
} repair;

static void note(repair *r, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

static void note(repair *r, const char *fmt, ...)
{
    if (!r->first || r->first[0])
        return;
    int k = snprintf(r->first, r->first_cap, "line %lu: ", r->line);
    if (k < 0 || (size_t)k >= r->first_cap)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->first + k, r->first_cap - (size_t)k, fmt, ap);
    va_end(ap);
}

/* Whether the code point may stand in an XML document. */
static int xml_char(unsigned long c)
{
    return c == 0x9 || c == 0xA || c == 0xD || (c >= 0x20 && c <= 0xD7FF) ||
           (c >= 0xE000 && c <= 0xFFFD) || (c >= 0x10000 && c <= 0x10FFFF);
}

/* Copy one character (at p, n bytes left) to the output, repairing it;
 * returns the bytes consumed. */
static size_t copy_char(repair *r, const char *p, size_t n)
{
    unsigned char c = (unsigned char)*p;
    if (c < 0x80) {
        if (c == '\n')
            r->line++;
        if (c < 0x20 && c != '\t' && c != '\n' && c != '\r') {
            note(r, "a control character (0x%02X) read as a space", c);
            put(&r->out, " ", 1);
        } else {
            put(&r->out, p, 1);
        }
        return 1;
    }
    size_t k = cdi_utf8_seq(p, n);
    if (!k) {
        note(r, "bytes that are not UTF-8 read as U+FFFD");
        puts_(&r->out, REPLACEMENT);
        return 1;
    }
    if (k == 3 && c == 0xEF && (unsigned char)p[1] == 0xBF &&
        ((unsigned char)p[2] == 0xBE || (unsigned char)p[2] == 0xBF)) {
        puts_(&r->out, REPLACEMENT);   /* U+FFFE, U+FFFF */
        return 3;
    }
    put(&r->out, p, k);
    return k;
}

static const unsigned short cp1252_c1[32] = {
    0x20AC, 0x81, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160,
    0x2039, 0x0152, 0x8D, 0x017D, 0x8F, 0x90, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022,
    0x2013, 0x2014, 0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0x9D, 0x017E, 0x0178 };

static int name_char(unsigned char c)
{
    return is_alnum(c);
}

/* At p[0] == '&': write the repaired reference, return bytes consumed. */
static size_t reference(repair *r, const char *p, size_t n)
{
    size_t i = 1;
    char num[24];
    if (i < n && p[i] == '#') {
        int hex = i + 1 < n && (p[i + 1] == 'x' || p[i + 1] == 'X');
        size_t j = i + 1 + (size_t)hex, d = 0;
        unsigned long v = 0;
        while (j < n && (hex ? is_xdigit((unsigned char)p[j]) : is_digit((unsigned char)p[j]))) {
            if (v <= 0x10FFFF)
                v = v * (hex ? 16 : 10) + (unsigned long)hex_value((unsigned char)p[j]);
            j++;
            d++;
        }
        if (d > 0 && j < n && p[j] == ';') {
            if (v >= 0x80 && v <= 0x9F)
                v = cp1252_c1[v - 0x80];
            if (!xml_char(v)) {
                note(r, "a reference to a character XML forbids read as U+FFFD");
                v = 0xFFFD;
            }
            snprintf(num, sizeof num, "&#%lu;", v);
            puts_(&r->out, num);
            return j + 1;
        }
    } else {
        size_t j = i;
        while (j < n && j < 40 && name_char((unsigned char)p[j]))
            j++;
        if (j > i && j < n && p[j] == ';') {
            char name[48];
            memcpy(name, p + i, j - i);
            name[j - i] = '\0';
            if (!strcmp(name, "amp") || !strcmp(name, "lt") || !strcmp(name, "gt") ||
                !strcmp(name, "quot") || !strcmp(name, "apos")) {
                put(&r->out, p, j + 1);
                return j + 1;
            }
            const htmlEntityDesc *e = htmlEntityLookup((const xmlChar *)name);
            if (e) {
                note(r, "the HTML entity &%s; read as its character", name);
                snprintf(num, sizeof num, "&#%u;", e->value);
                puts_(&r->out, num);
                return j + 1;
            }
            note(r, "an undefined entity &%s; kept as text", name);
            puts_(&r->out, "&amp;");
            return 1;
        }
    }
    note(r, "a '&' that starts no reference kept as text");
    puts_(&r->out, "&amp;");
    return 1;
}

/* Copy p up to and including the terminator (or to the end): comments,
 * CDATA sections, processing instructions.  Returns bytes consumed. */
static size_t verbatim(repair *r, const char *p, size_t n, const char *term)
{
    size_t tl = strlen(term), i = 0;
    while (i < n) {
        if (n - i >= tl && !memcmp(p + i, term, tl)) {
            put(&r->out, p + i, tl);
            return i + tl;
        }
        i += copy_char(r, p + i, n - i);
    }
    return i;
}

/* Skip p up to the end of the markup declaration that starts there (a
 * DOCTYPE with its internal subset), keeping only its newlines. */
static size_t skip_decl(repair *r, const char *p, size_t n, int *subset)
{
    int depth = 0;
    char q = 0;
    *subset = 0;
    for (size_t i = 0; i < n; i++) {
        char c = p[i];
        if (c == '\n') {
            r->line++;
            put(&r->out, "\n", 1);
        }
        if (q) {
            if (c == q)
                q = 0;
        } else if (c == '"' || c == '\'') {
            q = c;
        } else if (c == '[') {
            depth++;
            *subset = 1;
        } else if (c == ']' && depth > 0) {
            depth--;
        } else if (c == '>' && depth == 0) {
            return i + 1;
        } else if (c == '<' && depth > 0 && n - i >= 4 && !memcmp(p + i, "<!--", 4)) {
            const char *e = NULL;   /* a comment in the subset may hold quotes */
            for (size_t j = i + 4; j + 2 < n; j++)
                if (!memcmp(p + j, "-->", 3)) {
                    e = p + j;
                    break;
                }
            if (!e)
                return n;
            for (const char *k = p + i; k < e; k++)
                if (*k == '\n') {
                    r->line++;
                    put(&r->out, "\n", 1);
                }
            i = (size_t)(e - p) + 2;
        }
    }
    return n;
}

static int name_start(unsigned char c)
{
    return is_alpha(c) || c == '_' || c == ':' || c >= 0x80;
}

/* A start or end tag at p: copied with its attribute values repaired. */
static size_t tag(repair *r, const char *p, size_t n)
{
    char q = 0;
    size_t i = 1;
    put(&r->out, p, 1);
    while (i < n) {
        char c = p[i];
        if (q) {
            if (c == q)
                q = 0;
            if (c == '&') {
                i += reference(r, p + i, n - i);
                continue;
            }
            if (c == '<') {
                note(r, "a '<' in an attribute value kept as text");
                puts_(&r->out, "&lt;");
                i++;
                continue;
            }
        } else if (c == '"' || c == '\'') {
            q = c;
        } else if (c == '>') {
            put(&r->out, ">", 1);
            return i + 1;
        } else if (c == '<') {   /* an unclosed tag: let the parser recover there */
            return i;
        }
        i += copy_char(r, p + i, n - i);
    }
    return i;
}

static void repair_doc(repair *r, const char *p, size_t n)
{
    size_t i = 0;
    while (i < n && cdi_is_space((unsigned char)p[i]))
        i += copy_char(r, p + i, n - i);
    if (starts(p + i, n - i, "<?xml", 5) && (n - i == 5 || cdi_is_space((unsigned char)p[i + 5]))) {
        const char *e = NULL;   /* the declaration goes: the text is UTF-8 now */
        for (size_t j = i; j + 1 < n; j++)
            if (p[j] == '?' && p[j + 1] == '>') {
                e = p + j + 2;
                break;
            }
        size_t end = e ? (size_t)(e - p) : n;
        for (; i < end; i++)
            if (p[i] == '\n') {
                r->line++;
                put(&r->out, "\n", 1);
            }
    }
    while (i < n && !r->out.failed) {
        char c = p[i];
        size_t left = n - i;
        if (c == '<') {
            if (starts(p + i, left, "<!--", 4)) {
                i += verbatim(r, p + i, left, "-->");
            } else if (starts(p + i, left, "<![CDATA[", 9)) {
                i += verbatim(r, p + i, left, "]]>");
            } else if (left >= 9 && !strncasecmp(p + i, "<!DOCTYPE", 9)) {
                int subset;
                unsigned long line = r->line;
                i += skip_decl(r, p + i, left, &subset);
                if (subset && r->first && !r->first[0]) {
                    unsigned long now = r->line;
                    r->line = line;
                    note(r, "the DOCTYPE's declarations ignored (entities are never expanded)");
                    r->line = now;
                }
            } else if (left >= 2 && p[i + 1] == '?') {
                i += verbatim(r, p + i, left, "?>");
            } else if (left >= 2 && (name_start((unsigned char)p[i + 1]) ||
                                     (p[i + 1] == '/' && left >= 3 &&
                                      name_start((unsigned char)p[i + 2])))) {
                i += tag(r, p + i, left);
            } else {
                note(r, "a '<' that opens no tag kept as text");
                puts_(&r->out, "&lt;");
                i++;
            }
        } else if (c == '&') {
            i += reference(r, p + i, left);
        } else if (c == '>' && i >= 2 && p[i - 1] == ']' && p[i - 2] == ']') {
            puts_(&r->out, "&gt;");   /* "]]>" may not stand in text */
            i++;
        } else {
            i += copy_char(r, p + i, left);
        }
    }
}

char *cdi_feed_decode(const char *doc, size_t len, const char *content_type,
                      size_t *outlen, char *repaired, size_t repaired_cap)
{
    if (repaired && repaired_cap)
        repaired[0] = '\0';
    size_t skip;
    enc_kind k = sniff((const unsigned char *)doc, len, &skip);
    const char *from = NULL;   /* NULL: UTF-8 */
    size_t unit = 1;
    int cp1252 = 0;
    char label[64];
    switch (k) {
    case E_UTF8: break;
    case E_UTF16LE: from = "UTF-16LE"; unit = 2; break;
    case E_UTF16BE: from = "UTF-16BE"; unit = 2; break;
    case E_UTF32LE: from = "UTF-32LE"; unit = 4; break;
    case E_UTF32BE: from = "UTF-32BE"; unit = 4; break;
    case E_LABEL:
        http_charset(content_type, label, sizeof label);
        if (!label[0])
            xml_decl_encoding(doc, len, label, sizeof label);
        if (label[0])
            from = iconv_name(label, &cp1252);
        break;
    }
    cd_buf text = { 0 };
    const char *utf8 = doc + skip;
    size_t utf8len = len - skip;
    int unknown = 0;
    size_t bad = 0;
    if (from) {
        if (convert(from, unit, cp1252, doc + skip, len - skip, &text, &bad) != 0) {
            unknown = 1;   /* iconv does not know it: read as UTF-8 */
        } else {
            if (text.failed) {
                cdi_buf_free(&text);
                return NULL;
            }
            utf8 = text.data ? text.data : "";
            utf8len = text.len;
        }
    }
    repair r = { .line = 1, .first = repaired, .first_cap = repaired_cap };
    if (unknown && repaired && repaired_cap)
        snprintf(repaired, repaired_cap, "line 1: the encoding '%s' is unknown, read as UTF-8",
                 from);
    else if (bad && repaired && repaired_cap)
        snprintf(repaired, repaired_cap, "%zu bytes invalid in %s read as U+FFFD", bad, from);
    put(&r.out, "", 0);
    repair_doc(&r, utf8, utf8len);
    cdi_buf_free(&text);
    if (r.out.failed) {
        cdi_buf_free(&r.out);
        return NULL;
    }
    return cdi_buf_take(&r.out, outlen);
}
