/* Option tables: every thaw.* call that takes {key = value} reads it here,
 * and lthaw_check_keys names a misspelt key with the ones allowed. */
#include <string.h>

#include "lthaw.h"

/* ---- small table readers: opts at index t (may be nil) */
lua_Integer lthaw_opt_integer(lua_State *L, int t, const char *k, lua_Integer def)
{
	if (lua_isnoneornil(L, t))
		return def;
	lua_getfield(L, t, k);
	int isnum;
	lua_Integer v = lua_tointegerx(L, -1, &isnum);
	if (!isnum && !lua_isnil(L, -1))
		luaL_error(L, "option '%s' must be an integer (got %s)", k, luaL_typename(L, -1));
	lua_pop(L, 1);
	return isnum ? v : def;
}

int lthaw_opt_int(lua_State *L, int t, const char *k, int def)
{
	lua_Integer v = lthaw_opt_integer(L, t, k, def);
	if (v < INT_MIN || v > INT_MAX)
		luaL_error(L, "option '%s' is out of range (%I)", k, v);
	return (int)v;
}

/* A seed: any integer Lua holds (64 bits). */
uint64_t lthaw_opt_seed(lua_State *L, int t, const char *k, uint64_t def)
{
	return (uint64_t)lthaw_opt_integer(L, t, k, (lua_Integer)def);
}

double lthaw_opt_num(lua_State *L, int t, const char *k, double def)
{
	if (lua_isnoneornil(L, t))
		return def;
	lua_getfield(L, t, k);
	int isnum;
	lua_Number v = lua_tonumberx(L, -1, &isnum);
	if (!isnum && !lua_isnil(L, -1))
		luaL_error(L, "option '%s' must be a number (got %s)", k, luaL_typename(L, -1));
	lua_pop(L, 1);
	return isnum ? v : def;
}

int lthaw_opt_bool(lua_State *L, int t, const char *k, int def)
{
	if (lua_isnoneornil(L, t))
		return def;
	lua_getfield(L, t, k);
	int v = lua_isnil(L, -1) ? def : lua_toboolean(L, -1);
	lua_pop(L, 1);
	return v;
}

/* The string stays valid while the table holds it. */
const char *lthaw_opt_str(lua_State *L, int t, const char *k, const char *def)
{
	if (lua_isnoneornil(L, t))
		return def;
	lua_getfield(L, t, k);
	size_t len = 0;
	const char *v = lua_isnil(L, -1) ? def : lua_tolstring(L, -1, &len);
	if (!v && !lua_isnil(L, -1))
		luaL_error(L, "option '%s' must be a string (got %s)", k, luaL_typename(L, -1));
	if (v && !lua_isnil(L, -1) && strlen(v) != len) /* C would cut it at the NUL, silently */
		luaL_error(L, "option '%s' holds a NUL byte (at %d)", k, (int)strlen(v) + 1);
	lua_pop(L, 1);
	return v;
}

/* Refuses keys not in `allowed` (NULL-terminated): a typo such as
 * `epoch = 5` must not pass silently. */
void lthaw_check_keys(lua_State *L, int t, const char *what, const char *const *allowed)
{
	if (lua_isnoneornil(L, t))
		return;
	luaL_checktype(L, t, LUA_TTABLE);
	lua_pushnil(L);
	while (lua_next(L, t)) {
		lua_pop(L, 1);
		if (lua_type(L, -1) != LUA_TSTRING)
			continue; /* list part: positional values */
		const char *k = lua_tostring(L, -1);
		int ok = 0;
		for (int i = 0; allowed[i] && !ok; i++)
			ok = strcmp(allowed[i], k) == 0;
		if (!ok) {
			luaL_Buffer b;
			luaL_buffinit(L, &b);
			for (int i = 0; allowed[i]; i++) {
				luaL_addstring(&b, i ? ", " : "");
				luaL_addstring(&b, allowed[i]);
			}
			luaL_pushresult(&b);
			luaL_error(L, "%s: unknown option '%s' (known: %s)", what, k, lua_tostring(L, -1));
		}
	}
}

/* An int list {5,6,7} at field k of table t; returns the count (0 if absent). */
int lthaw_opt_int_list(lua_State *L, int t, const char *k, int *out, int cap)
{
	if (lua_isnoneornil(L, t))
		return 0;
	lua_getfield(L, t, k);
	if (lua_isnil(L, -1)) {
		lua_pop(L, 1);
		return 0;
	}
	if (!lua_istable(L, -1))
		luaL_error(L, "option '%s' must be a list of integers", k);
	int n = (int)luaL_len(L, -1);
	if (n > cap)
		luaL_error(L, "option '%s': at most %d values", k, cap);
	for (int i = 0; i < n; i++) {
		lua_geti(L, -1, i + 1);
		int isnum;
		lua_Integer v = lua_tointegerx(L, -1, &isnum);
		if (!isnum)
			luaL_error(L, "option '%s': value %d is not an integer", k, i + 1);
		out[i] = (int)v;
		lua_pop(L, 1);
	}
	lua_pop(L, 1);
	return n;
}

int lthaw_path_args(lua_State *L, const char *what, const char *const *allowed, const char *need, const char **path)
{
	int t = 1;
	*path = NULL;
	if (lua_type(L, 1) == LUA_TSTRING) {
		*path = lua_tostring(L, 1);
		t = 2;
	}
	lua_settop(L, t);
	lthaw_check_keys(L, t, what, allowed);
	*path = lthaw_opt_str(L, t, "path", *path);
	luaL_argcheck(L, *path != NULL, 1, need);
	return t;
}
