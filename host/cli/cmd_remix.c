/* mrxcl remix: one file in which each source has its own gain, in one pass and with no
 * stems on disk (separation.h; the library's mrxcl_stream_params.remix does the sum). */
#include "commands.h"
#include "separation.h"

int cmd_remix(int argc, char **argv)
{
    return run_separation_command("remix", OUTPUT_REMIX, argc, argv);
}
