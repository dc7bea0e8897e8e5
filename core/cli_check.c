/* cli_check.c - placeholder until the desk layer lands; replaced by it. */
#include "cli.h"
int cli_check(int argc, char **argv)
{
    (void)argc; (void)argv;
    cli_error("check", "not built yet");
    return CLI_USAGE;
}
