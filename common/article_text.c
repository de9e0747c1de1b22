/* article_text.c - placeholder until written */
extern int np_placeholder_article_text;
