/*
 * main: the `expstore` program. `expstore arrow-dump ...` dumps Arrow IPC files, `expstore vacuum
 * STORE` and `expstore fsck STORE` maintain and verify a store; anything else starts the SQL
 * shell.
 */
#include <string.h>

#include "tools.h"

int main(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "arrow-dump") == 0)
        return es_tool_arrow_dump(argc - 1, argv + 1);
    if (argc >= 2 && strcmp(argv[1], "vacuum") == 0) /* without STORE: its usage */
        return es_tool_vacuum(argc - 1, argv + 1);
    if (argc >= 2 && strcmp(argv[1], "fsck") == 0)
        return es_tool_fsck(argc - 1, argv + 1);
    return es_shell_main(argc, argv);
}
