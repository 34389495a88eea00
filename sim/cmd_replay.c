/* cmd_replay.c: `arenalab replay` (placeholder until implemented). */
#include "sim/commands.h"

static int replay_run(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    cli_error("replay: not implemented yet");
    return CLI_USAGE;
}

const cli_command_t cmd_replay = {
    .name = "replay",
    .args = "",
    .summary = "(not implemented yet)",
    .opts = NULL,
    .run = replay_run,
};
