-- API misuse from Lua: each mistake raises a Lua error with a plain message
-- (caught here with pcall) or, for an expected failure such as a missing
-- file, returns nil and a message. Nothing may crash the process.
local thaw = require "thaw"

-- f(...) must raise an error whose message contains `want` (plain text).
local function raises(what, want, f, ...)
	local ok, err = pcall(f, ...)
	err = tostring(err)
	thaw.check(not ok and err:find(want, 1, true) ~= nil,
		string.format("%s: want an error containing %q, got %s", what, want, ok and "success" or err))
end

local d = thaw.data.synthetic{n = 64, classes = 4, size = {12, 12}}
local m = thaw.reference_cnn{input = {1, 12, 12}, classes = 4}

-- wrong argument types
raises("fit(1, 2)", "thaw.model expected, got number", thaw.fit, 1, 2)
raises("fit(m, 2)", "thaw.data expected, got number", thaw.fit, m, 2)
raises("fit options not a table", "table expected", thaw.fit, m, d, 5)
raises("epochs as a string", "'epochs' must be an integer", thaw.fit, m, d, {epochs = "three"})
raises("lr as a table", "'lr' must be a number", thaw.fit, m, d, {lr = {}})
raises("optimizer as a table", "'optimizer' must be a string", thaw.fit, m, d, {optimizer = {}})
raises("on_batch not a function", "'on_batch' must be a function", thaw.fit, m, d, {on_batch = 1})
raises("val not a data set", "thaw.data expected", thaw.fit, m, d, {val = 3})
raises("a data method on a model", "thaw.data expected, got thaw.model", d.split, m, 0.5)
raises("a model method on a data set", "thaw.model expected, got thaw.data", m.summary, d)
raises("thaw.seed('x')", "number expected", thaw.seed, "x")
raises("thaw.check()", "value expected", thaw.check)
raises("layer() with a float", "number has no integer representation", m.layer, m, 1.5)
-- values outside their range, and strings C would cut short
raises("evaluate topk -1", "topk -1 is outside 1..1000", thaw.evaluate, m, d, {topk = -1})
raises("evaluate topk 1e9", "topk 1000000000 is outside 1..1000", thaw.evaluate, m, d, {topk = 1e9})
raises("synthetic noise -1", "noise -1 is outside 0..10", thaw.data.synthetic, {n = 10, noise = -1})
raises("normalize std 0", "std must be > 0 (channel 1 is 0.0)", function() m:normalize{mean = {0}, std = {0}} end)
raises("fit shift 1e9", "shift 1000000000 is outside", thaw.fit, m, d, {shift = 1000000000})
raises("a NUL in a layer name", "holds a NUL byte", m.add, m, thaw.nn.dense{units = 2, name = "a\0b"})

-- unknown option keys name the key
raises("fit{epoch=3}", "unknown option 'epoch'", thaw.fit, m, d, {epoch = 3})
raises("synthetic{classes_=}", "unknown option 'classes_'", thaw.data.synthetic, {classes_ = 3})
raises("dense{unit=}", "unknown option 'unit'", m.add, m, thaw.nn.dense{unit = 3})
raises("evaluate{nme=}", "unknown option 'nme'", thaw.evaluate, m, d, {nme = "x"})
raises("reference_cnn{class=}", "unknown option 'class'", thaw.reference_cnn, {class = 3})

-- bad values
raises("epochs = 0", "must be positive", thaw.fit, m, d, {epochs = 0})
raises("unknown optimizer", "unknown optimizer 'rmsprop'", thaw.fit, m, d, {optimizer = "rmsprop"})
raises("unknown schedule", "unknown schedule 'linear'", thaw.fit, m, d, {schedule = "linear"})
raises("step schedule without step_size", "needs step_size", thaw.fit, m, d, {schedule = "step"})
raises("negative lr", "learning rate -1", thaw.fit, m, d, {lr = -1})
raises("dense units = 0", "units must be positive", m.add, m, thaw.nn.dense{units = 0})
raises("unknown layer kind", "unknown layer kind 'lstm'", m.add, m, {kind = "lstm"})
raises("bad padding", "padding must be", m.add, m, thaw.nn.conv2d{filters = 2, padding = "full"})
raises("bad init", "init must be", m.add, m, thaw.nn.dense{units = 2, init = "zeros"})
raises("duplicate name", "already exists", m.add, m, thaw.nn.relu{name = "conv1"})
raises("split fraction 2", "validation fraction", d.split, d, 2)
raises("per_class 0", "must be positive", d.per_class, d, 0)
raises("select class 99", "out of range", d.select, d, {99})
raises("synthetic n = 0", "need n > 0", thaw.data.synthetic, {n = 0})
raises("model input of 2 numbers", "input = {channels, height, width}", thaw.model, {input = {1, 2}})
raises("set_classes {}", "a list of class names", m.set_classes, m, {})
raises("lr_mult -1", "lr multiplier -1", m.lr_mult, m, "fc2", -1)
raises("predict image 0", "image index outside", thaw.predict, m, d, 0)
raises("predict image 65", "image index outside", thaw.predict, m, d, 65)

-- out-of-range node references
raises("layer(99)", "node index 99 outside 1..13", m.layer, m, 99)
raises("layer(0)", "outside", m.layer, m, 0)
raises("layer('nope')", "no node named 'nope'", m.layer, m, "nope")
raises("insert at 99", "outside", m.insert, m, 99, thaw.nn.relu{})
raises("truncate at 99", "outside", m.truncate, m, 99)
raises("truncate at the input", "cannot cut at the input", m.truncate, m, "input")
raises("add reading node 99", "outside", m.add, m, thaw.nn.relu{inputs = {99}})
raises("freeze('nope')", "no node name matches 'nope'", m.freeze, m, "nope")
raises("freeze{upto='nope'}", "no node named 'nope'", m.freeze, m, {upto = "nope"})
raises("unfreeze{'fc1', 42}", "outside", m.unfreeze, m, {"fc1", 42})
thaw.check(m:layer(-1).name == "fc2", "layer(-1) is the output layer")
thaw.check(#m == 13, "no failed call above changed the model (" .. #m .. " nodes)")

-- the data does not fit the model
local d10 = thaw.data.synthetic{n = 40, classes = 10, size = {12, 12}}
raises("10 classes, 4 outputs (fit)", "has 10 classes but the model outputs 4 class scores: give it a head of 10", thaw.fit, m, d10)
raises("10 classes, 4 outputs (evaluate)", "has 10 classes but the model outputs 4 class scores: give it a head of 10", thaw.evaluate, m, d10)

-- an empty model
local e = thaw.model{input = {1, 12, 12}}
raises("pop an empty model", "no nodes", e.pop, e)
raises("fit an empty model", "outputs", thaw.fit, e, d)

-- errors inside callbacks reach the caller with their message
raises("error in on_batch", "boom in on_batch", thaw.fit, m, d,
	{on_batch = function() error("boom in on_batch") end})
raises("error in on_epoch", "boom in on_epoch", thaw.fit, m, d,
	{on_epoch = function() error("boom in on_epoch") end})

-- expected failures return nil, message (the message names the file)
local x, msg = thaw.load("/nonexistent/base.thaw")
thaw.check(x == nil and tostring(msg):find("/nonexistent/base.thaw", 1, true) ~= nil,
	"thaw.load of a missing file gives nil, message: " .. tostring(msg))
x, msg = thaw.import("/nonexistent/net.onnx")
thaw.check(x == nil and tostring(msg):find("/nonexistent/net.onnx", 1, true) ~= nil,
	"thaw.import of a missing file gives nil, message: " .. tostring(msg))
x, msg = thaw.data.open("/nonexistent/images", {})
thaw.check(x == nil and tostring(msg):find("/nonexistent/images", 1, true) ~= nil,
	"thaw.data.open of a missing folder gives nil, message: " .. tostring(msg))
x, msg = thaw.data.folder{path = "/nonexistent/images"}
thaw.check(x == nil and tostring(msg):find("/nonexistent/images", 1, true) ~= nil,
	"thaw.data.folder of a missing folder gives nil, message: " .. tostring(msg))
local garbage = os.tmpname()
local f = assert(io.open(garbage, "wb"))
f:write("this is not a model file")
f:close()
x, msg = thaw.load(garbage)
os.remove(garbage)
thaw.check(x == nil and type(msg) == "string", "thaw.load of a garbage file gives nil, message: " .. tostring(msg))

-- closed objects
local c = thaw.reference_cnn{input = {1, 12, 12}, classes = 4}
c:close()
raises("summary of a closed model", "the model is closed", c.summary, c)
raises("fit a closed model", "the model is closed", thaw.fit, c, d)
raises("field of a closed model", "the model is closed", function() return c.n end)
raises("length of a closed model", "the model is closed", function() return #c end)
thaw.check(tostring(c) == "thaw.model (closed)", "tostring of a closed model: " .. tostring(c))
c:close() -- closing twice is harmless
local dc = thaw.data.synthetic{n = 8, classes = 4, size = {12, 12}}
dc:close()
raises("split a closed data set", "the data set is closed", dc.split, dc, 0.5)
raises("fit on a closed data set", "the data set is closed", thaw.fit, m, dc)
raises("length of a closed data set", "the data set is closed", function() return #dc end)
thaw.check(tostring(dc) == "thaw.data (closed)", "tostring of a closed data set: " .. tostring(dc))

-- <close> variables free their object at the end of the block
local keep_m, keep_d
do
	local cm <close> = thaw.reference_cnn{input = {1, 12, 12}, classes = 4}
	local cd <close> = thaw.data.synthetic{n = 8, classes = 4, size = {12, 12}}
	thaw.check(#cm == 13 and #cd == 8, "<close> objects work inside their block")
	keep_m, keep_d = cm, cd
end
raises("model after its <close> block", "the model is closed", keep_m.summary, keep_m)
raises("data after its <close> block", "the data set is closed", keep_d.split, keep_d, 0.5)
-- an error leaving a <close> block closes the objects too
local leaked
pcall(function()
	local cm <close> = thaw.reference_cnn{input = {1, 12, 12}, classes = 4}
	leaked = cm
	error("leave the block")
end)
thaw.check(tostring(leaked) == "thaw.model (closed)", "<close> runs when an error leaves the block")

-- the garbage collector frees what the script dropped
for _ = 1, 20 do
	local t = thaw.reference_cnn{input = {1, 12, 12}, classes = 4}
	local s = thaw.data.synthetic{n = 16, classes = 4, size = {12, 12}}
	t:add(thaw.nn.relu{})
	s = s:split(0.5)
end
collectgarbage()
collectgarbage()

-- the model still trains after all of the above
local h = thaw.fit(m, d, {epochs = 1, batch = 32})
thaw.check(h.epochs == 1, "the model trains after the misuse")
print("misuse done")
