-- Class names and heads always agree: surgery drops stale names, a
-- set_classes of the wrong count raises, a cut model without a head is
-- refused by fit/evaluate/predict, a new head takes the data's names on its
-- first fit, and thaw.predict takes an image file.
local thaw = require "thaw"

local function raises(what, want, f, ...)
	local ok, err = pcall(f, ...)
	err = tostring(err)
	thaw.check(not ok and err:find(want, 1, true) ~= nil,
		string.format("%s: want an error containing %q, got %s", what, want, ok and "success" or err))
end

local d = thaw.data.synthetic{n = 64, classes = 4, size = {12, 12}}
local m = thaw.reference_cnn{input = {1, 12, 12}, classes = 4}
m:set_classes{"a", "b", "c", "d"}
thaw.check(#m.classes == 4 and m.classes[4] == "d", "set_classes with one name per output")
raises("set_classes with the wrong count", "2 names for a model with 4 outputs", m.set_classes, m, {"x", "y"})
thaw.check(#m.classes == 4 and m.classes[1] == "a", "a refused set_classes keeps the names")

-- pop + add: the old names go with the old head
m:pop()
thaw.check(#m.classes == 0, "pop drops the class names")
m:add(thaw.nn.dense{units = 10})
thaw.check(#m.classes == 0, "a new 10-way head has no names")
local c, p, name = thaw.predict(m, d, 1)
thaw.check(c >= 0 and c < 10 and name == "", "predict on the new head gives an index and no stale name")

-- truncate without a head: refused with what to do
local t = thaw.reference_cnn{input = {1, 12, 12}, classes = 4}
t:truncate("pool2")
thaw.check(#t.classes == 0, "truncate drops the class names")
local cut = "model output is 64x3x3, not a vector of class scores: add a head"
raises("fit after truncate", cut, thaw.fit, t, d)
raises("evaluate after truncate", cut, thaw.evaluate, t, d)
raises("predict after truncate", cut, thaw.predict, t, d, 1)

-- a new head takes the names of the data it first trains on
local h = thaw.reference_cnn{input = {1, 12, 12}, classes = 4}
h:pop()
h:add(thaw.nn.dense{units = 4})
local names = d.classes
thaw.fit(h, d, {epochs = 1, batch = 32})
thaw.check(#h.classes == 4 and h.classes[1] == names[1] and h.classes[4] == names[4],
	"a new head takes the data's class names on its first fit")

-- thaw.predict takes an image file, read at the model's size
local png = (thaw.run_dir() or os.getenv("TMPDIR") or "/tmp") .. "/classes-grid.png"
d:grid(png, 2)
local fc, fp, fname = thaw.predict(h, png)
thaw.check(math.type(fc) == "integer" and fc >= 0 and fc < 4 and fp > 0 and fp <= 1 and fname == h.classes[fc + 1],
	"thaw.predict(model, 'file.png') gives class, confidence and name")
local ok, err = pcall(thaw.predict, h, "no-such-file.png")
thaw.check(not ok and tostring(err):find("no-such-file.png", 1, true), "a missing image file is named")
print("classes done")
