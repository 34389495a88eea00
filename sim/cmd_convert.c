/* cmd_convert.c: `arenalab convert` (placeholder until implemented). */
#include "sim/commands.h"

static int convert_run(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    cli_error("convert: not implemented yet");
    return CLI_USAGE;
}

const cli_command_t cmd_convert = {
    .name = "convert",
    .args = "",
    .summary = "(not implemented yet)",
    .opts = NULL,
    .run = convert_run,
};
