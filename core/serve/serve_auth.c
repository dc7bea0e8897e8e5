/*
 * serve_auth.c - the bearer token (see serve_auth.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "serve/serve_auth.h"

#define MIN_TOKEN 16
#define MAX_TOKEN 4096

cd_status cdi_token_read(const char *path, char **out, cd_error *err)
{
    *out = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return cd_error_set(err, CD_ERR_IO, "%s: %s", path, strerror(errno));
    struct stat sb;
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        close(fd);
        return cd_error_set(err, CD_ERR_ARG, "%s: not a regular file", path);
    }
    if (sb.st_mode & S_IROTH) {
        close(fd);
        return cd_error_set(err, CD_ERR_ARG,
                            "%s: other users may read the token (chmod 600 %s)", path, path);
    }
    char buf[MAX_TOKEN + 2];
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n < 0)
        return cd_error_set(err, CD_ERR_IO, "%s: %s", path, strerror(errno));
    if (n > MAX_TOKEN)
        return cd_error_set(err, CD_ERR_ARG, "%s: a token is at most %d bytes", path, MAX_TOKEN);
    buf[n] = '\0';
    if (strlen(buf) != (size_t)n)
        return cd_error_set(err, CD_ERR_ARG, "%s: the token holds a NUL byte", path);
    char *p = buf;
    while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
        p++;
    size_t len = strlen(p);
    while (len && (p[len - 1] == ' ' || p[len - 1] == '\t' || p[len - 1] == '\n' || p[len - 1] == '\r'))
        p[--len] = '\0';
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)p[i] <= ' ' || (unsigned char)p[i] >= 0x7f)
            return cd_error_set(err, CD_ERR_ARG,
                                "%s: the token must be one word of printable ASCII", path);
    if (len < MIN_TOKEN)
        return cd_error_set(err, CD_ERR_ARG, "%s: the token is shorter than %d characters",
                            path, MIN_TOKEN);
    if (!(*out = strdup(p)))
        return cd_error_set(err, CD_ERR_NOMEM, "out of memory");
    return CD_OK;
}

cd_status cdi_token_make(const char *path, char **out, cd_error *err)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0 && errno == EEXIST)
        return cdi_token_read(path, out, err);
    if (fd < 0)
        return cd_error_set(err, CD_ERR_IO, "%s: %s", path, strerror(errno));
    unsigned char rnd[32];
    char hex[2 * sizeof rnd + 2];
    if (getrandom(rnd, sizeof rnd, 0) != (ssize_t)sizeof rnd) {
        close(fd);
        unlink(path);
        return cd_error_set(err, CD_ERR_IO, "getrandom: %s", strerror(errno));
    }
    for (size_t i = 0; i < sizeof rnd; i++)
        snprintf(hex + 2 * i, 3, "%02x", rnd[i]);
    strcat(hex, "\n");
    ssize_t w = write(fd, hex, strlen(hex));
    if (close(fd) != 0 || w != (ssize_t)strlen(hex)) {
        unlink(path);
        return cd_error_set(err, CD_ERR_IO, "%s: cannot write the token", path);
    }
    return cdi_token_read(path, out, err);
}

int cdi_token_check(const char *token, const char *authorization)
{
    if (!token || !authorization || strncasecmp(authorization, "Bearer ", 7) != 0)
        return 0;
    const char *given = authorization + 7;
    while (*given == ' ')
        given++;
    size_t tl = strlen(token), gl = strlen(given);
    /* every byte of the token is compared, whatever differs first */
    volatile unsigned char diff = (unsigned char)(tl != gl);
    for (size_t i = 0; i < tl; i++)
        diff |= (unsigned char)token[i] ^ (unsigned char)(i < gl ? given[i] : 0);
    return diff == 0;
}
