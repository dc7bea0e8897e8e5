/*
 * cli_eval_desk.h - copydesk eval -c DESK.lua: how well a desk routes and
 * scores topics on stories whose answers are known.
 */
#ifndef CD_CLI_EVAL_DESK_H
#define CD_CLI_EVAL_DESK_H

#include "copydesk.h"

typedef struct cli_eval_desk_args {
    const char *config;
    int json, errors;
    const char *sweep;     /* a topic id, or NULL */
    double threshold;      /* a topic is predicted at this score or above */
    cd_desk_opts opts;
} cli_eval_desk_args;

#define CLI_EVAL_DESK_HELP \
    "with a desk (-c DESK.lua): stories are routed (never delivered) and compared\n" \
    "with their gold answers: gold_route (a destination or a list, in the story's\n" \
    "fields) for the destinations, labels for the topics (a label is a topic's id\n" \
    "or one of the topic's labels, \"trade\" or \"topics:trade\"; a topic's\n" \
    "parents count as gold with it):\n" \
    "  -c, --config DESK   evaluate this desk: precision, recall, F1 per\n" \
    "                      destination and per topic, the confusion of routes\n" \
    "  --threshold X       a topic is predicted when it scores X or more\n" \
    "                      (default 0.5)\n" \
    "  --errors            list the stories routed or scored wrong\n" \
    "  --sweep TOPIC       precision and recall of TOPIC at thresholds 0.1 to 0.9\n"

/* Run the evaluation over the inputs and print it; a CLI_* status. */
int cli_eval_desk(const cli_eval_desk_args *a, char **inputs, int n);

#endif
