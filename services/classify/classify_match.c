/* classify_match.c - placeholder until written */
extern int np_placeholder_classify_match;
