/* cmd_check.c: `arenalab check` (placeholder until implemented). */
#include "sim/commands.h"

static int check_run(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    cli_error("check: not implemented yet");
    return CLI_USAGE;
}

const cli_command_t cmd_check = {
    .name = "check",
    .args = "",
    .summary = "(not implemented yet)",
    .opts = NULL,
    .run = check_run,
};
