-- A common recipe: one phase with SGD, the next with Adam (or Adam on a
-- model SGD trained and saved). The second phase must train, not diverge.
local thaw = require "thaw"
local data = thaw.data.synthetic{n = 240, classes = 4, size = {12, 12}}

local function phases(first, second)
	local m = thaw.reference_cnn{input = {1, 12, 12}, classes = 4}
	local a = thaw.fit(m, data, {epochs = 2, batch = 30, optimizer = first})
	local b = thaw.fit(m, data, {epochs = 1, batch = 30, optimizer = second})
	thaw.check(b[1].loss < 2 * a[2].loss + 0.5, string.format(
		"%s then %s: the loss goes from %.3g to %.3g", first, second, a[2].loss, b[1].loss))
	return m
end

phases("adam", "adam")
phases("sgd", "sgd")
phases("adam", "sgd")
phases("sgd", "adam")
phases("sgd", "adamw")
local m = phases("sgd", "sgd")
local file = os.tmpname()
m:save(file)
local loaded = assert(thaw.load(file))
os.remove(file)
local before = thaw.evaluate(loaded, data).loss
local h = thaw.fit(loaded, data, {epochs = 1, batch = 30, optimizer = "adam"})
thaw.check(h[1].loss < 2 * before + 0.5, string.format(
	"Adam on a loaded SGD-trained model: the loss goes from %.3g to %.3g", before, h[1].loss))
