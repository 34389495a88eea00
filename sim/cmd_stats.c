/* cmd_stats.c: `arenalab stats` (placeholder until implemented). */
#include "sim/commands.h"

static int stats_run(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    cli_error("stats: not implemented yet");
    return CLI_USAGE;
}

const cli_command_t cmd_stats = {
    .name = "stats",
    .args = "",
    .summary = "(not implemented yet)",
    .opts = NULL,
    .run = stats_run,
};
