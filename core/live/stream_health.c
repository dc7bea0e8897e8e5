/*
 * stream_health.c - the published state of the streams (stream_health.h).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "live/stream_health.h"

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static char *down_why;        /* NULL: ready */
static char *metrics_text;

static void replace(char **dst, const char *s)
{
    char *c = s ? strdup(s) : NULL;
    free(*dst);
    *dst = c;
}

void cdi_stream_health_publish(unsigned streams, const char *down, const char *metrics)
{
    pthread_mutex_lock(&lock);
    replace(&down_why, streams ? down : NULL);
    replace(&metrics_text, streams ? metrics : NULL);
    pthread_mutex_unlock(&lock);
}

int cdi_stream_health_ready(char *why, size_t cap)
{
    pthread_mutex_lock(&lock);
    int ready = down_why == NULL;
    if (!ready && cap)
        snprintf(why, cap, "%s", down_why);
    pthread_mutex_unlock(&lock);
    return ready;
}

void cdi_stream_health_metrics(cd_buf *b)
{
    pthread_mutex_lock(&lock);
    if (metrics_text)
        cdi_buf_puts(b, metrics_text);
    pthread_mutex_unlock(&lock);
}
