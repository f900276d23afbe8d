-- Line 5 calls a nil value: the run must stop with file:line and a traceback.
local thaw = require "thaw"
local missing = thaw.no_such_function
print("before the error")
missing()
print("never printed")
