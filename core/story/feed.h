/*
 * feed.h - reading news feeds into items that become stories: RSS 0.9x,
 * 1.0 (RDF) and 2.0, Atom 1.0 and 0.3 (libxml2, feed_xml.c), JSON Feed and
 * JSON lines (cJSON, feed_json.c).  Every intake uses these readers: the
 * feeds watch polls, `copydesk route feed.xml` (the story reader), and
 * cd_stories_from_feed (copydesk/story.h) for a document in memory.
 *
 * Feeds in the wild are read the way browsers and mature feed readers read
 * them (feed_decode.c): the encoding comes from the byte order mark, else
 * the HTTP charset, else the XML declaration, else the layout of the first
 * bytes (UTF-16/32 without a mark), else UTF-8; ISO-8859-1 and US-ASCII
 * are windows-1252; bytes invalid in the encoding become U+FFFD.  HTML
 * entities (&nbsp;), stray '&' and '<', and DOCTYPE declarations (dropped,
 * never expanded) are repaired before libxml2 parses the document in its
 * recovering mode; what was repaired is a warning, not a refusal.
 *
 * Parsing streams items to a callback rather than building a list.  An
 * item without an id of its own (guid, Atom id, rdf:about, JSON Feed id,
 * a JSON lines object's id or uri) is known by its link, else by its
 * title, else by an id made from its content: "urn:copydesk:item:" and the 32 hex digits of the XXH3 128-bit
 * hash of the feed's own id or link (else the address it was read from),
 * the item's body, publication date and extension metadata.  The same item
 * in the same feed gets the same id at every poll.  Only an item with
 * nothing at all in it is skipped.
 */
#ifndef CD_STORY_FEED_H
#define CD_STORY_FEED_H

#include <stddef.h>

#include "copydesk/error.h"
#include "copydesk/story.h"

typedef struct cd_feed_item {
    const char *id;         /* never NULL */
    const char *title;      /* text, NULL when absent */
    const char *body;       /* text (from HTML: see cdi_html_to_text), NULL when absent */
    const char *link;       /* absolute when the feed gave a base */
    const char *published;
    const char *meta_json;  /* more metadata as a JSON object text (categories,
                               author, enclosures, extension elements such as
                               Media RSS under "ext"), or NULL */
    const char *json;       /* JSON lines: the item is this story object */
    size_t json_len;
    long line;              /* XML: the line the item starts on; else 0 */
    size_t index;           /* its place among the feed's items, from 1 */
} cd_feed_item;

/* The start of the error of a document that is XML but not a feed. */
#define CD_FEED_NOT_A_FEED "not an RSS or Atom feed"

/* Whether doc is a JSON Feed (an object with an "items" array). */
int cdi_feed_is_jsonfeed(const char *doc, size_t len);

/* Called per item in document order; return non-zero to stop. */
typedef int (*cd_feed_item_fn)(void *ud, const cd_feed_item *item);

typedef struct cd_feed_opts {
    const char *format;        /* "rss", "atom" (both XML), "jsonfeed",
                                  "jsonl", or NULL to detect it */
    const char *url;           /* where the document came from: the base of
                                  relative links; NULL when unknown */
    const char *content_type;  /* the HTTP Content-Type (its charset is
                                  used), or NULL */
} cd_feed_opts;

/* Parse a feed document (opts may be NULL).  On error err says what and
 * where ("line 3: ..."); items before the error have been given to fn.
 * A document read only after repairs is CD_OK, and *warn (when not NULL)
 * then says what was repaired first (warn->code is CD_ERR_FORMAT; it is
 * CD_OK when there was nothing to repair).  *nitems (when not NULL) gets
 * the count of items given to fn. */
cd_status cdi_feed_parse(const char *doc, size_t len, const cd_feed_opts *opts,
                         cd_feed_item_fn fn, void *ud, size_t *nitems,
                         cd_error *warn, cd_error *err);
cd_status cdi_feed_parse_xml(const char *doc, size_t len, const cd_feed_opts *opts,
                             cd_feed_item_fn fn, void *ud, size_t *nitems,
                             cd_error *warn, cd_error *err);
cd_status cdi_feed_parse_jsonfeed(const char *doc, size_t len, const cd_feed_opts *opts,
                                  cd_feed_item_fn fn, void *ud, size_t *nitems,
                                  cd_error *err);
cd_status cdi_feed_parse_jsonl(const char *doc, size_t len, const cd_feed_opts *opts,
                               cd_feed_item_fn fn, void *ud, size_t *nitems, cd_error *err);

/* Whether doc looks like an XML feed: after a byte order mark and white
 * space, '<' in UTF-8 or one of the UTF-16/32 layouts. */
int cdi_feed_is_xml(const char *doc, size_t len);

/* The story of an item: its id, title and body; link, published, the
 * item's metadata and the feed's name pass through as metadata.  source
 * is where it came from. */
cd_status cdi_feed_item_story(const cd_feed_item *item, const char *feed,
                              const char *source, cd_story *story, cd_error *err);

/* The content-derived id of an item that has none (see above) into out
 * (at least CD_FEED_ID_SIZE bytes). */
#define CD_FEED_ID_SIZE 64
void cdi_feed_content_id(const char *feed_key, const cd_feed_item *item, char *out);

/* ---- decoding (feed_decode.c) ------------------------------------------ */

/* The document as UTF-8 ready for the XML parser (a new buffer, caller
 * frees, NUL-terminated, *outlen bytes): decoded as said above, then
 * repaired.  *repaired (when not NULL) gets what was repaired first, or ""
 * ("an undefined entity &nbsp;" ...), with its line. Returns NULL when out
 * of memory. */
char *cdi_feed_decode(const char *doc, size_t len, const char *content_type,
                      size_t *outlen, char *repaired, size_t repaired_cap);

/* ---- HTML to text (html_text.c) ---------------------------------------- */

/* Text of an HTML fragment (UTF-8), parsed with libxml2's HTML parser:
 * every named and numeric entity decoded, script, style and the like left
 * out, inline elements joining words (Ex<b>am</b>ple is "Example"), block
 * elements separating paragraphs with a blank line, <br> a line break,
 * runs of white space one space, a '<' that opens no tag kept.  A new
 * string (caller frees), NULL when out of memory. */
char *cdi_html_to_text(const char *html, size_t len);

#endif
