/* msg.c - placeholder until written */
extern int np_placeholder_msg;
