/* push.c - placeholder until written */
extern int np_placeholder_push;
