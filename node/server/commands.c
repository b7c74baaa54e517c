/* commands.c: the command table, cmd_table, from commands.def (the COMMAND
 * INFO and DOCS text, commands_docs.def, is cmd/cmd_command.c's alone).
 *
 * The one file that names every handler, so that the table (declared in
 * cmd/cmd.h) can point at handlers of every layer, data commands (cmd/) and
 * server commands (server/) alike, while cmd/ never includes server/: the
 * reference is only at link time. */
#include "base/assert.h"
#include "cmd/cmd.h"

const struct cmd cmd_table[CMDID_COUNT] = {
#define CMD(id_, parent_, name_, full_, fn_, arity_, flags_, first_, last_, step_, keynum_,        \
	    route_)                                                                                \
	[id_] = { .name = name_,                                                                   \
		  .fullname = full_,                                                               \
		  .fn = fn_,                                                                       \
		  .arity = arity_,                                                                 \
		  .flags = flags_,                                                                 \
		  .first_key = first_,                                                             \
		  .last_key = last_,                                                               \
		  .key_step = step_,                                                               \
		  .keynum = keynum_,                                                               \
		  .one_key = (first_) > 0 && (last_) == (first_) && (keynum_) == 0 &&              \
			     !((flags_)&CMD_MOVABLEKEYS) &&                                        \
			     ((arity_) > (first_) || -(arity_) > (first_)),                        \
		  .id = id_,                                                                       \
		  .parent = parent_,                                                               \
		  .route = route_ },
#include "cmd/commands.def"
#undef CMD
};

/* Containers whose subcommands do the work: nothing ever calls these, since
 * a container alone fails its arity check and an unknown subcommand is
 * refused before (cmd_check). */
static void container(struct cmd_ctx *c)
{
	(void)c;
	ASSERT_NOT_REACHED("commands: a container command ran");
}

void cmd_client(struct cmd_ctx *c)
{
	container(c);
}
void cmd_cluster(struct cmd_ctx *c)
{
	container(c);
}
void cmd_config(struct cmd_ctx *c)
{
	container(c);
}
void cmd_object(struct cmd_ctx *c)
{
	container(c);
}
void cmd_memory(struct cmd_ctx *c)
{
	container(c);
}
void cmd_slowlog(struct cmd_ctx *c)
{
	container(c);
}
void cmd_latency(struct cmd_ctx *c)
{
	container(c);
}
void cmd_pubsub(struct cmd_ctx *c)
{
	container(c);
}
