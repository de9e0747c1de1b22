/* classify_engine.c - placeholder until written */
extern int np_placeholder_classify_engine;
