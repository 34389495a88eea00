/* commands.h: the `arenalab` subcommands, one cli_command_t each, defined in
 * the sim/cli/cmd_*.c file named after it and listed in main.c's table. */
#ifndef ARENALAB_SIM_CLI_COMMANDS_H
#define ARENALAB_SIM_CLI_COMMANDS_H

#include "sim/base/cli.h"

extern const cli_command_t cmd_check;   /* sim/cli/cmd_check.c   */
extern const cli_command_t cmd_stats;   /* sim/cli/cmd_stats.c   */
extern const cli_command_t cmd_convert; /* sim/cli/cmd_convert.c */
extern const cli_command_t cmd_replay;  /* sim/cli/cmd_replay.c  */
extern const cli_command_t cmd_gen;     /* sim/cli/cmd_gen.c     */
extern const cli_command_t cmd_report;  /* sim/cli/cmd_report.c  */
extern const cli_command_t cmd_compare; /* sim/cli/cmd_compare.c */
extern const cli_command_t cmd_record;  /* sim/cli/cmd_record.c  */
extern const cli_command_t cmd_run;     /* sim/cli/cmd_run.c     */
extern const cli_command_t cmd_import;  /* sim/cli/cmd_import.c  */
extern const cli_command_t cmd_export;  /* sim/cli/cmd_import.c  */

#endif
