/* Shipped files found from the executable, never the working directory;
 * the normalisation presets. */
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "thaw/data.h"
#include "thaw/paths.h"
#include "tmpdir.h"

static void test_roots_follow_the_executable(void)
{
	const char *dirs[THAW_MAX_SHARE_DIRS];
	unsetenv("THAW_SHARE_DIR");
	char exe[4096];
	ssize_t k = readlink("/proc/self/exe", exe, sizeof exe - 1);
	CHECK(k > 0);
	exe[k > 0 ? k : 0] = 0;
	*strrchr(exe, '/') = 0;
	CHECK(!strcmp(thaw_exe_dir(), exe));
	int n = thaw_share_dirs(dirs);
	CHECKF(n == 2, "%d roots", n);
	CHECK(n >= 1 && !strcmp(dirs[0], exe)); /* a build tree: beside the binary */
	*strrchr(exe, '/') = 0;
	strcat(exe, "/share/thaw"); /* installed: <bin>/../share/thaw */
	CHECKF(n >= 2 && !strcmp(dirs[1], exe), "%s vs %s", n >= 2 ? dirs[1] : "-", exe);
}

static void test_asset_lookup(void)
{
	char buf[4096];
	unsetenv("THAW_SHARE_DIR");
	/* the test binary lives in build/test: no assets beside it, whatever the
	 * working directory holds */
	CHECK(chdir(dir) == 0);
	mkdir(tpath("assets"), 0755);
	FILE *f = fopen(tpath("assets/a.bin"), "wb");
	CHECK(f != NULL);
	if (f)
		fclose(f);
	CHECK_ERR(thaw_asset_path("a.bin", buf, sizeof buf), "asset 'a.bin' not found; looked in ");
	char want[4200];
	snprintf(want, sizeof want, "%s/assets/a.bin, ", thaw_exe_dir());
	CHECKF(strstr(thaw_errmsg(), want) != NULL, "'%s' lacks '%s'", thaw_errmsg(), want);
	CHECK(strstr(thaw_errmsg(), "/share/thaw/assets/a.bin") != NULL);
	/* THAW_SHARE_DIR comes first */
	setenv("THAW_SHARE_DIR", dir, 1);
	CHECK_OK(thaw_asset_path("a.bin", buf, sizeof buf));
	CHECK(!strcmp(buf, tpath("assets/a.bin")));
	CHECK_ERR(thaw_asset_path("a.bin", buf, 8), "longer than 8 bytes");
	CHECK_ERR(thaw_asset_path("", buf, sizeof buf), "empty name");
	CHECK_ERR(thaw_asset_path("assets", buf, sizeof buf), "not found"); /* not a directory */
	CHECK_ERR(thaw_asset_path("nope", buf, sizeof buf), tpath("assets/nope"));
	unsetenv("THAW_SHARE_DIR");
	CHECK(chdir("/") == 0);
}

static void test_presets(void)
{
	thaw_input_spec s = {.c = 3, .h = 224, .w = 224};
	CHECK_OK(thaw_input_preset(&s, "imagenet"));
	CHECK(s.c == 3 && s.h == 224 && s.w == 224);
	CHECK_NEAR(s.mean[0], 0.485, 1e-7);
	CHECK_NEAR(s.mean[1], 0.456, 1e-7);
	CHECK_NEAR(s.mean[2], 0.406, 1e-7);
	CHECK_NEAR(s.std[0], 0.229, 1e-7);
	CHECK_NEAR(s.std[1], 0.224, 1e-7);
	CHECK_NEAR(s.std[2], 0.225, 1e-7);
	CHECK(s.resize == THAW_RESIZE_CROP); /* ImageNet evaluation keeps the centre */
	s.resize = THAW_RESIZE_PAD;
	CHECK_OK(thaw_input_preset(&s, "unit"));
	CHECK(s.resize == THAW_RESIZE_PAD); /* unit leaves the policy alone */
	CHECK_OK(thaw_input_preset(&s, "inception"));
	CHECK(s.mean[2] == 0.5f && s.std[0] == 0.5f);

	thaw_input_spec none = {.c = 0}; /* no channels yet: the preset's */
	CHECK_OK(thaw_input_preset(&none, "imagenet"));
	CHECK(none.c == 3);

	thaw_input_spec gray = {.c = 1, .h = 28, .w = 28, .mean = {0.3f}, .std = {0.2f}};
	CHECK_ERR(thaw_input_preset(&gray, "imagenet"), "'imagenet' is for 3-channel input; the model takes 1");
	CHECK(gray.c == 1 && gray.mean[0] == 0.3f && gray.std[0] == 0.2f); /* untouched */
	CHECK_OK(thaw_input_preset(&gray, "unit"));
	CHECK(gray.c == 1 && gray.mean[0] == 0.0f && gray.std[0] == 1.0f && gray.h == 28);
	CHECK_OK(thaw_input_preset(&gray, "none"));
	CHECK_ERR(thaw_input_preset(&gray, "ImageNet"), "unknown (known: imagenet, inception, unit, none)");
	CHECK_ERR(thaw_input_preset(&gray, NULL), "unknown");
}

int main(void)
{
	if (tmpdir_make("thaw-paths") < 0)
		return 1;
	RUN(test_roots_follow_the_executable);
	RUN(test_asset_lookup);
	RUN(test_presets);
	tmpdir_remove();
	return check_done();
}
