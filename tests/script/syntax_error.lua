local thaw = require "thaw"
print("unbalanced"
