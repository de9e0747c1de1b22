/* classify_taxonomy.c - placeholder until written */
extern int np_placeholder_classify_taxonomy;
