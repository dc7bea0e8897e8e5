/* cli_route.c - placeholder until the desk layer lands; replaced by it. */
#include "cli.h"
int cli_route(int argc, char **argv)
{
    (void)argc; (void)argv;
    cli_error("route", "not built yet");
    return CLI_USAGE;
}
