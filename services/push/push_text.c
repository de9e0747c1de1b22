/* push_text.c - placeholder until written */
extern int np_placeholder_push_text;
