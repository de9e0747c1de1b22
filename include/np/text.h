/* text.h - white-space normalisation and HTML stripping of article text */
#ifndef NP_TEXT_H
#define NP_TEXT_H

#include <stdbool.h>

/*
 * Collapses runs of Unicode white space to one ASCII space and trims both ends, in place.
 * Keeps paragraph breaks ("\n\n") when keep_paragraphs is true. s must be valid UTF-8.
 */
void np_text_normalise_space(char *s, bool keep_paragraphs);

/*
 * Strips HTML tags, comments, <script>/<style> contents and decodes character references
 * (named common ones and numeric) into a new plain-text string. Returns NULL on allocation
 * failure. Text without '<' or '&' is copied unchanged.
 */
char *np_text_strip_html(const char *s);

#endif /* NP_TEXT_H */
