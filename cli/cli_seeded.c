/*
 * cli_seeded.c - copydesk train --seeds (stub while being written).
 */
#include "cli.h"

int cli_train_seeded(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    cli_error("train", "--seeds: not yet");
    return CLI_USAGE;
}
