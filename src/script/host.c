/* The script host: `require "thaw"` inside thaw. A thaw_script owns one Lua
 * state, runs a script through lua_pcall with a traceback, sends print and
 * the log to the run's sinks as LOG events and stops the script on Ctrl-C
 * (the run's should_stop). */
#include <lualib.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "thaw/paths.h"
#include "thaw/sweep.h"

#include "lthaw.h"

static int host_key;

thaw_script *lthaw_host(lua_State *L)
{
	lua_rawgetp(L, LUA_REGISTRYINDEX, &host_key);
	thaw_script *s = lua_touserdata(L, -1);
	lua_pop(L, 1);
	return s;
}

void lthaw_logf(thaw_script *s, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	thaw_run_vlog(s->run, fmt, ap);
	va_end(ap);
}

/* Raises the core's last message as a Lua error. */
int lthaw_fail(lua_State *L) { return luaL_error(L, "%s", thaw_errmsg()); }


/* print() goes to the host's log (the workbench shows it in its log pane). */
static int l_print(lua_State *L)
{
	thaw_script *s = lthaw_host(L);
	int n = lua_gettop(L); /* before the buffer puts anything on the stack */
	luaL_Buffer b;
	luaL_buffinit(L, &b);
	for (int i = 1; i <= n; i++) {
		size_t len;
		const char *t = luaL_tolstring(L, i, &len);
		if (i > 1)
			luaL_addchar(&b, '\t');
		luaL_addvalue(&b);
		(void)t;
	}
	luaL_pushresult(&b);
	thaw_event ev = {.kind = THAW_EV_LOG, .u.line = lua_tostring(L, -1)};
	thaw_run_publish(s->run, &ev);
	return 0;
}

/* ---- userdata types: liolib's method table, with properties after it */
void lthaw_newclass(lua_State *L, const char *tname, const luaL_Reg *meta, const luaL_Reg *methods,
		    const luaL_Reg *props, lua_CFunction index)
{
	luaL_newmetatable(L, tname);
	luaL_setfuncs(L, meta, 0);
	lua_newtable(L);
	luaL_setfuncs(L, methods, 0);
	lua_newtable(L);
	luaL_setfuncs(L, props, 0);
	lua_pushcclosure(L, index, 2);
	lua_setfield(L, -2, "__index");
	lua_pop(L, 1);
}

int lthaw_index(lua_State *L, lua_CFunction *get)
{
	luaL_checkstring(L, 2); /* a number key becomes its string, as before */
	lua_settop(L, 2);
	lua_pushvalue(L, 2);
	if (lua_rawget(L, lua_upvalueindex(1)) != LUA_TNIL)
		return 1;
	lua_pop(L, 1);
	lua_pushvalue(L, 2);
	lua_rawget(L, lua_upvalueindex(2));
	*get = lua_tocfunction(L, -1);
	lua_pop(L, 1);
	return 0;
}

static int luaopen_thaw(lua_State *L)
{
	lua_newtable(L);
	lthaw_open_model(L);
	lthaw_open_nn(L);
	lthaw_open_train(L);
	lthaw_open_explore(L);
	lthaw_open_finetune(L);
	lthaw_open_data(L);
	lthaw_open_text(L);
	lua_pushstring(L, THAW_VERSION);
	lua_setfield(L, -2, "version");
	return 1;
}

/* thaw.params: the NAME=VALUE script arguments (a sweep's point passes its
 * grid values so), a numeral as a number, anything else as its string; a
 * name given twice keeps the last. */
static void push_params(lua_State *L, int argc, char **argv)
{
	lua_newtable(L);
	for (int i = 0; i < argc; i++) {
		const char *value;
		size_t n = thaw_param_split(argv[i], &value);
		if (n == 0)
			continue;
		lua_pushlstring(L, argv[i], n);
		if (!lua_stringtonumber(L, value))
			lua_pushstring(L, value);
		lua_rawset(L, -3);
	}
}

/* ---- the host side */

/* On every function call and every 1000 instructions: a stop asked for
 * outside thaw.fit (a script busy in Lua code, or waiting in a loop around
 * os.execute) ends the run too. Inside thaw.fit (its callbacks) the phase
 * stops itself at the next batch boundary, with its checkpoint. */
static void stop_hook(lua_State *L, lua_Debug *ar)
{
	(void)ar;
	thaw_script *s = lthaw_host(L);
	if (!s->interrupted && !s->in_fit && thaw_run_should_stop(s->run)) {
		s->interrupted = 1;
		luaL_error(L, "%s", INTERRUPTED);
	}
}
void lthaw_safepoint(lua_State *L)
{
	thaw_script *s = lthaw_host(L);
	if (s->interrupted || thaw_run_should_stop(s->run)) {
		s->interrupted = 1;
		luaL_error(L, "%s", INTERRUPTED);
	}
}

static int traceback(lua_State *L)
{
	const char *msg = lua_tostring(L, 1);
	if (!msg)
		msg = lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, 1));
	luaL_traceback(L, L, msg, 1);
	return 1;
}

thaw_script *thaw_script_new(thaw_run *run)
{
	if (!run) {
		thaw_error(THAW_EINVAL, "script: needs a run");
		return NULL;
	}
	thaw_script *s = thaw_calloc(1, sizeof *s);
	if (!s)
		return NULL;
	s->run = run;
	s->last_model = LUA_NOREF;
	s->seed = thaw_run_seed(run);
	char **argv;
	int argc = thaw_run_args(run, &argv);
	lua_State *L = s->L = luaL_newstate();
	if (!L) {
		free(s);
		thaw_error(THAW_ENOMEM, "out of memory for the Lua state");
		return NULL;
	}
	luaL_openlibs(L);
	lua_pushlightuserdata(L, s);
	lua_rawsetp(L, LUA_REGISTRYINDEX, &host_key);
	luaL_requiref(L, "thaw", luaopen_thaw, 0);
	push_params(L, argc, argv);
	lua_setfield(L, -2, "params");
	lua_pop(L, 1);
	lua_pushcfunction(L, l_print);
	lua_setglobal(L, "print");
	/* require finds thaw's own Lua library (lua/) from the binary's path,
	 * whatever the working directory, before the user's LUA_PATH entries
	 * and Lua's defaults (already in package.path); thaw_script_run puts
	 * the script's own directory first */
	char lib[THAW_MAX_SHARE_DIRS * (2 * PATH_MAX_ + 40)] = "";
	const char *dirs[THAW_MAX_SHARE_DIRS];
	size_t len = 0;
	for (int i = 0, n = thaw_share_dirs(dirs); i < n; i++) {
		char d[PATH_MAX_ + 8];
		struct stat st;
		snprintf(d, sizeof d, "%s/lua", dirs[i]);
		if (stat(d, &st) == 0 && S_ISDIR(st.st_mode))
			len += (size_t)snprintf(lib + len, sizeof lib - len, "%s/?.lua;%s/?/init.lua;", d, d);
	}
	lua_getglobal(L, "package");
	lua_getfield(L, -1, "path");
	lua_pushfstring(L, "%s%s", lib, lua_tostring(L, -1));
	lua_setfield(L, -3, "path");
	lua_pop(L, 2);
	lua_createtable(L, argc, 1);
	for (int i = 0; i < argc; i++) {
		lua_pushstring(L, argv[i]);
		lua_seti(L, -2, i + 1);
	}
	lua_setglobal(L, "arg");
	return s;
}

void thaw_script_free(thaw_script *s)
{
	if (!s)
		return;
	if (s->L)
		lua_close(s->L);
	thaw_model_free(s->kept);
	free(s);
}

int thaw_script_run(thaw_script *s, const char *path)
{
	lua_State *L = s->L;
	lua_pushcfunction(L, traceback);
	int h = lua_gettop(L);
	lua_getglobal(L, "arg");
	lua_pushstring(L, path);
	lua_seti(L, -2, 0);
	lua_pop(L, 1);
	/* a script requires its sibling modules wherever it is run from */
	char dir[PATH_MAX_];
	const char *slash = strrchr(path, '/');
	snprintf(dir, sizeof dir, "%.*s", slash ? (int)(slash - path) + (slash == path) : 1, slash ? path : ".");
	lua_getglobal(L, "package");
	lua_getfield(L, -1, "path");
	lua_pushfstring(L, "%s/?.lua;%s/?/init.lua;%s", dir, dir, lua_tostring(L, -1));
	lua_setfield(L, -3, "path");
	lua_pop(L, 2);
	int rc = luaL_loadfile(L, path);
	lua_sethook(L, stop_hook, LUA_MASKCALL | LUA_MASKCOUNT, 1000);
	if (rc == LUA_OK)
		rc = lua_pcall(L, 0, 0, h);
	lua_sethook(L, NULL, 0, 0);
	/* Ctrl-C after the last safe point (the end of the script, or a long
	 * C call such as an evaluation near its end) still interrupts */
	if (thaw_run_should_stop(s->run))
		s->interrupted = 1;
	if (s->interrupted) { /* also when the script caught the error */
		lua_settop(L, h - 1);
		snprintf(s->err, sizeof s->err, "interrupted");
		return THAW_RUN_INTERRUPTED;
	}
	if (rc != LUA_OK) {
		const char *msg = lua_tostring(L, -1);
		snprintf(s->err, sizeof s->err, "%s", msg ? msg : "(error object is not a string)");
		lua_settop(L, h - 1);
		return THAW_RUN_ERROR;
	}
	lua_settop(L, h - 1);
	return s->checks_failed ? THAW_RUN_CHECK : THAW_RUN_OK;
}

const char *thaw_script_error(const thaw_script *s) { return s ? s->err : ""; }

int thaw_script_save_model(thaw_script *s, const char *path)
{
	if (s->last_model == LUA_NOREF)
		return 0;
	lua_rawgeti(s->L, LUA_REGISTRYINDEX, s->last_model);
	lmodel *u = luaL_testudata(s->L, -1, MODEL_MT);
	const thaw_model *m = u && u->m ? u->m : s->kept; /* closed by the script */
	int rc = m ? thaw_model_save(m, path, NULL) : 0;
	lua_pop(s->L, 1);
	return rc;
}

void thaw_script_checks(const thaw_script *s, int *passed, int *failed)
{
	if (passed)
		*passed = s->checks_ok;
	if (failed)
		*failed = s->checks_failed;
}
