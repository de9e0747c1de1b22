/* keygen.c - newspipe-keygen: write a CURVE key pair for ingest or a client
 *
 *     newspipe-keygen NAME     writes NAME.key (key pair, mode 0600) and NAME.pub
 *
 * Give ingest its server.key (NP_INGEST_CURVE_SECRET_FILE) and a folder of the clients' .pub
 * files (NP_INGEST_CURVE_CLIENTS); give each client its own .key and the server's .pub
 * (newspipe-push --curve-key client.key --curve-server server.pub). Keys are never printed.
 */
#include <stdio.h>
#include <string.h>

#include "np/curve.h"
#include "np/err.h"

int main(int argc, char **argv)
{
    struct np_err err = { 0 };

    if (argc != 2 || argv[1][0] == '-') {
        fprintf(stderr, "usage: newspipe-keygen NAME   (writes NAME.key and NAME.pub)\n");
        return argc == 2 && strcmp(argv[1], "--help") == 0 ? 0 : 2;
    }
    if (np_curve_write_keypair(argv[1], &err) != 0) {
        fprintf(stderr, "newspipe-keygen: %s\n", err.msg);
        return 1;
    }
    printf("wrote %s.key (secret, mode 0600) and %s.pub\n", argv[1], argv[1]);
    return 0;
}
