/* http.c - placeholder until written */
extern int np_placeholder_http;
