-- A failing thaw.check must not stop the script: every check is reported.
local thaw = require "thaw"
thaw.check(1 + 1 == 2, "arithmetic holds")
thaw.check(false, "a deliberately false claim")
print("still running after the failed check")
thaw.check(true, "a later check")
