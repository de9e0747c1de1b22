/* zsock.c - placeholder until written */
extern int np_placeholder_zsock;
