/*
 * tools: the `expstore` command-line program. Its subcommands use only the public API
 * (include/expstore/).
 */
#ifndef ES_TOOLS_H
#define ES_TOOLS_H

/** `expstore arrow-dump FILE...`: print an Arrow IPC file or stream as canonical JSON. */
int es_tool_arrow_dump(int argc, char **argv);
/** `expstore vacuum [OPTIONS] STORE`: es_vacuum (tools/maint.c). */
int es_tool_vacuum(int argc, char **argv);
/** `expstore fsck [-q] STORE`: es_fsck; exit 0 consistent, 1 inconsistent, 2 could not check. */
int es_tool_fsck(int argc, char **argv);
/** `expstore [STORE] [OPTIONS]`: the SQL shell (tools/shell.c). argv[0] is the program name. */
int es_shell_main(int argc, char **argv);

#endif /* ES_TOOLS_H */
