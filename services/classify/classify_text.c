/* classify_text.c - placeholder until written */
extern int np_placeholder_classify_text;
