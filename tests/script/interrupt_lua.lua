-- Ctrl-C while the script runs plain Lua (no thaw.fit): still exit 130.
local thaw = require "thaw"
print("spinning")
local t = os.clock() + 3
while os.clock() < t do end
print("spun to the end: the interrupt was ignored")
