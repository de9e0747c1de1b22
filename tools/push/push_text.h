/* push_text.h - the plain-text article layout (as scraped from a news site) */
#ifndef PUSH_TEXT_H
#define PUSH_TEXT_H

#include <stddef.h>

#include <jansson.h>

#include "np/err.h"

/*
 * Converts an article in the plain-text layout of data/samples/ into a new JSON object
 * (json_decref()) with the fields the ingest socket takes:
 *
 *     <title>
 *     <region>                                   optional, before the Source line
 *     Source: <source>Published: <date>          "Published:" may follow a space or not
 *     <publisher tag>                            one per line -> source_tags
 *     <title again>                              ends the tag list
 *     News Summary | Background | In-Depth AI Insights | <other heading>
 *     <section text ...>
 *
 * Sections go to summary, background and insights; text under any other heading, or with no
 * heading at all, goes to body. Blank lines are ignored except inside section text, where they
 * separate paragraphs. Returns 0, or NP_EPARSE with err naming what is missing (a title), or
 * NP_ENOMEM. buf need not be NUL-terminated; it must be valid UTF-8 for the fields to be kept.
 */
int push_text_parse(const char *buf, size_t len, json_t **out, struct np_err *err);

#endif /* PUSH_TEXT_H */
