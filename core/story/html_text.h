/*
 * html_text.h - the text of HTML and XHTML (html_text.c), for the feed
 * readers.  cdi_html_to_text (feed.h) parses an HTML string; this walks a
 * tree libxml2 already holds (Atom type="xhtml" content, xhtml:body).
 */
#ifndef CD_STORY_HTML_TEXT_H
#define CD_STORY_HTML_TEXT_H

#include <libxml/tree.h>

/* Text of the children of node, with the rules of cdi_html_to_text.  A new
 * string (caller frees), NULL when out of memory. */
char *cdi_xhtml_to_text(const xmlNode *node);

/* Initialize libxml2 once, from whichever thread parses first (libxml2
 * wants xmlInitParser before any concurrent use). */
void cdi_xml_init(void);

/* Collapse white space (U+00A0 included) in place, like the text of an
 * HTML element: runs become one space, none at either end. */
void cdi_text_collapse(char *s);

#endif
