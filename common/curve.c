/* curve.c - CURVE keys in files: read them, write them, never print them
 *
 * Keys live in files, never in settings or on command lines (where ps and shell history show
 * them) and never in logs: error messages name the file and the problem only. Key generation
 * and Z85 come from libzmq (zmq_curve_keypair, zmq_z85_decode), which uses libsodium.
 */
#include "np/curve.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>
#include <zmq.h>

#define LINE_MAX_LEN 256

struct np_curve_allow {
    unsigned char (*keys)[32]; /* owned */
    size_t n;
    size_t cap;
};

static bool valid_z85_key(const char *s)
{
    unsigned char bin[32];

    return strlen(s) == NP_CURVE_KEY_LEN && zmq_z85_decode(bin, s) != NULL;
}

/* Reads the value of `key=` (or, with key NULL, the first key-looking line) from path. */
static int read_key(const char *path, const char *key, char *out, struct np_err *err)
{
    FILE *f = fopen(path, "r");
    char line[LINE_MAX_LEN];
    int rc = NP_EINVAL;

    if (f == NULL) {
        return np_err_set(err, NP_EIO, "key", "cannot read \"%s\": %s", path, strerror(errno));
    }
    while (fgets(line, sizeof(line), f) != NULL) {
        char *v = line;

        line[strcspn(line, "\r\n")] = '\0';
        if (line[0] == '#' || line[0] == '\0') {
            continue;
        }
        if (key != NULL) {
            size_t klen = strlen(key);

            if (strncmp(line, key, klen) != 0 || line[klen] != '=') {
                continue;
            }
            v = line + klen + 1;
        } else if (strncmp(line, "public=", 7) == 0) {
            v = line + 7;
        } else if (strchr(line, '=') != NULL && strlen(line) != NP_CURVE_KEY_LEN) {
            continue;
        }
        if (valid_z85_key(v)) {
            memcpy(out, v, NP_CURVE_KEY_LEN + 1);
            rc = 0;
        }
        break;
    }
    fclose(f);
    if (rc != 0) {
        np_err_set(err, NP_EINVAL, "key", "\"%s\" holds no valid %s key", path,
                   key != NULL ? key : "public");
    }
    return rc;
}

int np_curve_load_keypair(const char *path, char *pub, char *sec, struct np_err *err)
{
    struct stat st;

    if (stat(path, &st) != 0) {
        return np_err_set(err, NP_EIO, "key", "cannot read \"%s\": %s", path, strerror(errno));
    }
    if (S_ISREG(st.st_mode) && (st.st_mode & 077) != 0) {
        return np_err_set(err, NP_EINVAL, "key",
                          "\"%s\" holds a secret key but others may read it (chmod 600 it)", path);
    }
    if (read_key(path, "public", pub, err) != 0) {
        return NP_EINVAL;
    }
    return read_key(path, "secret", sec, err);
}

void np_curve_wipe(char *secret, size_t len)
{
    sodium_memzero(secret, len);
}

int np_curve_load_public(const char *path, char *pub, struct np_err *err)
{
    return read_key(path, NULL, pub, err);
}

int np_curve_write_keypair(const char *base, struct np_err *err)
{
    char pub[NP_CURVE_KEY_LEN + 1];
    char sec[NP_CURVE_KEY_LEN + 1];
    char path[4096];
    FILE *f = NULL;
    int fd = -1;

    if (zmq_curve_keypair(pub, sec) != 0) {
        return np_err_set(err, NP_EIO, "key", "cannot make a key pair: %s",
                          zmq_strerror(zmq_errno()));
    }
    snprintf(path, sizeof(path), "%s.key", base);
    fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
    f = fd >= 0 ? fdopen(fd, "w") : NULL;
    if (f == NULL ||
        fprintf(f, "# newspipe CURVE key pair: keep secret\npublic=%s\nsecret=%s\n", pub, sec) <
            0 ||
        fclose(f) != 0) {
        if (f == NULL && fd >= 0) {
            close(fd);
        }
        return np_err_set(err, errno == EEXIST ? NP_EINVAL : NP_EIO, "key",
                          "cannot write \"%s\": %s", path, strerror(errno));
    }
    snprintf(path, sizeof(path), "%s.pub", base);
    fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0644);
    f = fd >= 0 ? fdopen(fd, "w") : NULL;
    if (f == NULL || fprintf(f, "%s\n", pub) < 0 || fclose(f) != 0) {
        if (f == NULL && fd >= 0) {
            close(fd);
        }
        return np_err_set(err, NP_EIO, "key", "cannot write \"%s\": %s", path, strerror(errno));
    }
    return 0;
}

static int allow_add(struct np_curve_allow *a, const char *z85)
{
    if (a->n == a->cap) {
        size_t cap = a->cap ? 2 * a->cap : 16;
        unsigned char(*k)[32] = realloc(a->keys, cap * sizeof(*k));

        if (k == NULL) {
            return NP_ENOMEM;
        }
        a->keys = k;
        a->cap = cap;
    }
    zmq_z85_decode(a->keys[a->n++], z85);
    return 0;
}

/* Adds every *.pub file of dir. */
static int allow_dir(struct np_curve_allow *a, const char *dir, struct np_err *err)
{
    DIR *d = opendir(dir);
    struct dirent *e = NULL;
    int rc = 0;

    if (d == NULL) {
        return np_err_set(err, NP_EIO, "curve_clients", "cannot read \"%s\": %s", dir,
                          strerror(errno));
    }
    while (rc == 0 && (e = readdir(d)) != NULL) {
        char path[4096];
        char pub[NP_CURVE_KEY_LEN + 1];
        size_t len = strlen(e->d_name);

        if (len < 5 || strcmp(e->d_name + len - 4, ".pub") != 0) {
            continue;
        }
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        rc = np_curve_load_public(path, pub, err);
        if (rc == 0) {
            rc = allow_add(a, pub);
        }
    }
    closedir(d);
    return rc;
}

struct np_curve_allow *np_curve_allow_load(const char *path, struct np_err *err)
{
    struct np_curve_allow *a = calloc(1, sizeof(*a));
    struct stat st;
    char pub[NP_CURVE_KEY_LEN + 1];
    int rc = 0;

    if (a == NULL) {
        np_err_set(err, NP_ENOMEM, "curve_clients", "out of memory");
        return NULL;
    }
    if (stat(path, &st) != 0) {
        rc = np_err_set(err, NP_EIO, "curve_clients", "cannot read \"%s\": %s", path,
                        strerror(errno));
    } else if (S_ISDIR(st.st_mode)) {
        rc = allow_dir(a, path, err);
    } else {
        rc = np_curve_load_public(path, pub, err);
        if (rc == 0) {
            rc = allow_add(a, pub);
        }
    }
    if (rc == 0 && a->n == 0) {
        rc = np_err_set(err, NP_EINVAL, "curve_clients", "\"%s\" lists no client keys", path);
    }
    if (rc != 0) {
        np_curve_allow_destroy(&a);
    }
    return a;
}

bool np_curve_allow_has(const struct np_curve_allow *a, const unsigned char key[32])
{
    for (size_t i = 0; i < a->n; i++) {
        if (memcmp(a->keys[i], key, 32) == 0) {
            return true;
        }
    }
    return false;
}

size_t np_curve_allow_count(const struct np_curve_allow *a)
{
    return a->n;
}

void np_curve_allow_destroy(struct np_curve_allow **ap)
{
    if (ap == NULL || *ap == NULL) {
        return;
    }
    free((*ap)->keys);
    free(*ap);
    *ap = NULL;
}
